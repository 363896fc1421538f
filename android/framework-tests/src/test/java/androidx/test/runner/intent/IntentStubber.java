package androidx.test.runner.intent;

import android.app.Instrumentation.ActivityResult;
import android.content.Intent;

/** Stand-in: answers started activities with canned results (Espresso-Intents). */
public interface IntentStubber {
  ActivityResult getActivityResultForIntent(Intent intent);
}

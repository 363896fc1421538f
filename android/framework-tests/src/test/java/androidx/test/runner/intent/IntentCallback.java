package androidx.test.runner.intent;

import android.content.Intent;

/** Stand-in: told of every intent an activity starts. */
public interface IntentCallback {
  void onIntentSent(Intent intent);
}

package androidx.test.runner.lifecycle;

import android.app.Activity;

/** Stand-in: told of every activity lifecycle change. */
public interface ActivityLifecycleCallback {
  void onActivityLifecycleChanged(Activity activity, Stage stage);
}

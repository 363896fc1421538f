package androidx.test.runner.lifecycle;

import android.app.Application;

/** Stand-in: told of the application's lifecycle changes. */
public interface ApplicationLifecycleCallback {
  void onApplicationLifecycleChanged(Application app, ApplicationStage stage);
}

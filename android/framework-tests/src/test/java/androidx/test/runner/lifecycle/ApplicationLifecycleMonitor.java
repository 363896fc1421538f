package androidx.test.runner.lifecycle;

/** Stand-in: the application's lifecycle. */
public interface ApplicationLifecycleMonitor {
  void addLifecycleCallback(ApplicationLifecycleCallback callback);

  void removeLifecycleCallback(ApplicationLifecycleCallback callback);
}

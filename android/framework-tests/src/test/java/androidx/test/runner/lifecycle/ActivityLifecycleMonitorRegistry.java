package androidx.test.runner.lifecycle;

/** Stand-in: holds the activity lifecycle monitor. */
public final class ActivityLifecycleMonitorRegistry {
  private static volatile ActivityLifecycleMonitor instance;

  private ActivityLifecycleMonitorRegistry() {}

  public static void registerInstance(ActivityLifecycleMonitor monitor) {
    instance = monitor;
  }

  public static ActivityLifecycleMonitor getInstance() {
    if (instance == null) {
      throw new IllegalStateException("No activity lifecycle monitor registered");
    }
    return instance;
  }
}

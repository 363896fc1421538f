package androidx.test.runner.lifecycle;

/** Stand-in: holds the application lifecycle monitor. */
public final class ApplicationLifecycleMonitorRegistry {
  private static volatile ApplicationLifecycleMonitor instance;

  private ApplicationLifecycleMonitorRegistry() {}

  public static void registerInstance(ApplicationLifecycleMonitor monitor) {
    instance = monitor;
  }

  public static ApplicationLifecycleMonitor getInstance() {
    if (instance == null) {
      throw new IllegalStateException("No application lifecycle monitor registered");
    }
    return instance;
  }
}

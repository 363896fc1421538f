package androidx.test.runner.lifecycle;

/** Stand-in: the lifecycle stages of an activity. */
public enum Stage {
  PRE_ON_CREATE,
  CREATED,
  STARTED,
  RESUMED,
  PAUSED,
  STOPPED,
  RESTARTED,
  DESTROYED
}

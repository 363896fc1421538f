package androidx.test.runner.lifecycle;

/** Stand-in: the lifecycle stages of the application. */
public enum ApplicationStage {
  PRE_ON_CREATE,
  CREATED
}

// Who an audit entry names when the caller names nobody: the OS user running Segloop. One place so
// that project-store, splits and DAD exclusions record the same name for the same person.
import os from 'node:os';

export function defaultActor(): string {
  try {
    return os.userInfo().username || 'unknown';
  } catch {
    // userInfo throws where the uid has no passwd entry (some containers): still record something.
    return 'unknown';
  }
}

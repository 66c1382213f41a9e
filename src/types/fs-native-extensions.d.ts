// The part of fs-native-extensions (prebuilt N-API addon, no bundled types) that pbvm uses.
// On Linux a lock is an open file description lock (F_OFD_SETLK), on macOS flock(2): either
// way it belongs to the open descriptor and the kernel drops it when the holder dies.
declare module 'fs-native-extensions' {
  /** Takes an exclusive lock (or a shared one) without waiting; false when another open file description holds it. */
  export function tryLock(fd: number, offset?: number, length?: number, opts?: { shared?: boolean }): boolean;
  export function unlock(fd: number, offset?: number, length?: number): void;
}

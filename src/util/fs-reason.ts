// A file-system error in words for a one-line message ("no such file or directory", not ENOENT
// and a stack trace).
const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many levels of symbolic links',
  EEXIST: 'it exists',
  EIO: 'input/output error',
};

export function fsReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return REASONS[err?.code ?? ''] ?? err?.code ?? (err instanceof Error ? err.message : String(e));
}

/** The parts of the unixcrypt package (SHA-256 and SHA-512 crypt in JavaScript) that TwoStep uses. */
export type UnixCrypt = { encrypt(password: string, salt?: string): string; verify(password: string, hash: string): boolean };

let unixcrypt: Promise<UnixCrypt> | undefined;

/** Loads unixcrypt, an ES module, with a real import(), which TypeScript's CommonJS output would turn into require(). */
export function loadUnixcrypt(): Promise<UnixCrypt> {
  const importModule = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<UnixCrypt>;
  unixcrypt ??= importModule('unixcrypt');
  return unixcrypt;
}

/** The password typed by the user and the verification code appended to it. */
export interface PasswordAndCode {
  readonly password: string;
  readonly code: string;
}

/**
 * Splits `password + code` by taking exactly the last `digits` ASCII digits as the code.
 * The password keeps everything before them, exactly as typed (spaces and digits included).
 * Returns undefined when the secret is too short to hold a non-empty password and a code,
 * so that the password backend is never called with an empty password.
 */
export function splitPasswordAndCode(secret: string, digits: number): PasswordAndCode | undefined {
  if (secret.length <= digits) {
    return undefined;
  }
  const code = secret.slice(-digits);
  if (!/^[0-9]+$/.test(code)) {
    return undefined;
  }
  return { password: secret.slice(0, -digits), code };
}

/** A first-factor password check. */
export interface PasswordBackend {
  /**
   * Returns whether `password` is the account's password. For an unknown account it runs an
   * equivalent dummy check and returns false, so the reply time does not reveal the account.
   * @throws TwoStepError ERR_BACKEND_UNAVAILABLE when the check cannot be made.
   */
  verify(account: string, password: string): Promise<boolean>;
  /** Returns whether the backend has the account (for admin tools; not used to decide logins). */
  hasAccount(account: string): Promise<boolean>;
  close(): Promise<void>;
}

// Checks one SHA512-CRYPT hash in a piscina worker thread. unixcrypt computes it synchronously
// in JavaScript, 10 to 25 ms at 5000 rounds on a 2-core test machine.
import { loadUnixcrypt } from './unixcrypt';

export default async function verifySha512Crypt({ password, hash }: { password: string; hash: string }): Promise<boolean> {
  return (await loadUnixcrypt()).verify(password, hash);
}

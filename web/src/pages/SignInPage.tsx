/** Sign-in: waits for the auth API. */
export async function signOut(): Promise<void> {}

export function SignInPage() {
  return <div class="signin">Sign-in is not available yet.</div>;
}

/** What the peer adapters log in to: a fixed SCRAM server, one object per login. */
export interface FixedScramServer {
  /** client-first -> server-first. */
  first(message: Uint8Array): Buffer;
  /** client-final -> server-final (`v=...`); throws when the client's proof is wrong. */
  final(message: Uint8Array): Buffer;
}

declare module 'virtual:trusted-document-ids' {
  /** Operation name → trusted document id, made by the build (empty under `vite` dev). */
  const ids: Record<string, string>;
  export default ids;
}

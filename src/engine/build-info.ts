/**
 * Facts fixed when tsc is built. The bundler (build/build.ts, build/dev.ts) defines the
 * __TSC_*__ identifiers; run from source (unit tests) they are absent and the fallbacks
 * apply. `typeof` on an undeclared identifier is safe, which is why it is used here.
 */
declare const __TSC_VERSION__: string | undefined;
declare const __TSC_COMMIT__: string | undefined;
declare const __TSC_HELPER_PATH__: string | undefined;
declare const __TSC_HELPER_DIGEST__: string | undefined;

export const VERSION: string = typeof __TSC_VERSION__ === 'string' ? __TSC_VERSION__ : '0.0.0-dev';
export const COMMIT: string = typeof __TSC_COMMIT__ === 'string' ? __TSC_COMMIT__ : 'unknown';
/** Development builds: absolute path of the helper binary built beside the bundle. */
export const HELPER_PATH: string = typeof __TSC_HELPER_PATH__ === 'string' ? __TSC_HELPER_PATH__ : '';
/** Single-executable builds: sha256 of the embedded helper asset. */
export const HELPER_DIGEST: string = typeof __TSC_HELPER_DIGEST__ === 'string' ? __TSC_HELPER_DIGEST__ : '';

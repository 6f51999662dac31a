/** Turning registry answers into TscErrors, and reading bodies with a size limit. */
import { TscError } from '../errors.ts';

/** Registry error bodies are small; more than this is not worth reading for a message. */
const ERROR_BODY_LIMIT = 64 * 1024;

/**
 * The error for an unexpected response. `subject` names what was asked for, e.g.
 * `manifest latest of 127.0.0.1:5000/app`; the registry's own error codes and messages
 * (the `{"errors": [...]}` body of the distribution spec) are added when present.
 */
export async function responseError(response: Response, subject: string, registry: string): Promise<TscError> {
  const detail = await registryErrorDetail(response);
  const status = response.status;
  const message = `${subject}: ${registry} answered ${status}${detail === '' ? '' : ` (${detail})`}`;
  if (status === 404) return new TscError('not-found', message);
  if (status === 401 || status === 403) {
    return new TscError('remote', message, { hint: `check the credentials for ${registry} and that you may access the repository` });
  }
  if (status === 429) return new TscError('remote', message, { hint: 'the registry is rate limiting requests; try again later' });
  if (status >= 500) return new TscError('remote', message, { hint: 'the registry failed; try again later' });
  return new TscError('remote', message);
}

async function registryErrorDetail(response: Response): Promise<string> {
  let text: string;
  try {
    text = new TextDecoder().decode(await readLimited(response, ERROR_BODY_LIMIT, 'error body', true));
  } catch {
    return '';
  }
  try {
    const json = JSON.parse(text) as { errors?: unknown };
    if (!Array.isArray(json.errors)) return '';
    return json.errors
      .map((e: unknown) => {
        const { code, message } = (typeof e === 'object' && e !== null ? e : {}) as { code?: unknown; message?: unknown };
        const words = [typeof code === 'string' ? code.toLowerCase() : '', typeof message === 'string' ? message : ''];
        return words.filter((w) => w !== '').join(': ');
      })
      .filter((s) => s !== '')
      .join('; ')
      .slice(0, 300);
  } catch {
    return '';
  }
}

/**
 * The whole body, refusing more than `limit` bytes (announced or actually sent), so a
 * broken or hostile registry cannot make us buffer without bound. With `truncate` the
 * first `limit` bytes are returned instead of failing.
 */
export async function readLimited(response: Response, limit: number, subject: string, truncate = false): Promise<Uint8Array> {
  const announced = Number(response.headers.get('content-length') ?? NaN);
  if (!truncate && announced > limit) {
    await response.body?.cancel();
    throw new TscError('invalid-content', `${subject} is too large: ${announced} bytes (limit ${limit})`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (response.body === null) return new Uint8Array();
  for await (const chunk of response.body) {
    total += chunk.byteLength;
    if (total > limit) {
      // leaving the loop cancels the stream
      if (truncate) {
        chunks.push(chunk.subarray(0, chunk.byteLength - (total - limit)));
        break;
      }
      throw new TscError('invalid-content', `${subject} is too large: more than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

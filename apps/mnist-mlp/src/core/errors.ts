/**
 * Bad input from the user (a file that is not what it claims, an unknown
 * option value, data that does not fit the model). The CLI reports it as one
 * line and exits with status 2; anything else is a bug and exits with 1.
 *
 * @example
 * throw new InputError('photo.png: not a PNG file (bad signature)');
 */
export class InputError extends Error {
  override name = 'InputError';
}

import { NeuriteError } from '@neurite/tensor';

/** Base class of the errors @neurite/data throws: bad options, missing files, failed downloads. */
export class DataError extends NeuriteError {
  override name = 'DataError';
}

/**
 * An IDX file (or its gzip wrapper) that cannot be read. The message starts
 * with the file's name when one was given and names the byte offset where
 * the problem is, e.g.
 * `train-images-idx3-ubyte.gz: unsupported IDX type code 0x0a at byte 2 …`.
 */
export class IdxError extends DataError {
  override name = 'IdxError';
}

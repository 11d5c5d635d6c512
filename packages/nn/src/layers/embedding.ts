import { DTypeError, type Rng, type Tensor, where } from '@neurite/tensor';
import { normal } from '../init.js';
import { Module } from '../module.js';
import { toRng } from '../random.js';

/** Options of `Embedding` (PyTorch's arguments). */
export interface EmbeddingOptions {
  /**
   * An index whose row starts at zero and receives no gradient (a padding
   * token). Negative values count from the end, as in PyTorch.
   */
  paddingIdx?: number;
  /** The generator of the initial N(0, 1) rows, or a seed. */
  rng?: Rng | number;
  /** Parameter dtype. Default `float32`. */
  dtype?: 'float32' | 'float64';
}

/**
 * A lookup table: int32 indices of any shape [...] → rows of `weight`,
 * [..., embeddingDim]. `weight` is [numEmbeddings, embeddingDim], drawn
 * from N(0, 1) as PyTorch's `Embedding`. An index out of range is refused
 * with the index and its position.
 *
 * @example
 * const embed = new Embedding(27, 16, { rng: 1 });
 * embed.forward(tensor([[1, 5, 0]], { dtype: 'int32' })).shape; // [1, 3, 16]
 */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** The padding index (made non-negative), or null. */
  readonly paddingIdx: number | null;
  /** [numEmbeddings, embeddingDim]: row i is the vector of index i. */
  readonly weight: Tensor;

  constructor(
    numEmbeddings: number,
    embeddingDim: number,
    { paddingIdx, rng, dtype = 'float32' }: EmbeddingOptions = {},
  ) {
    super();
    for (const [what, n] of [
      ['numEmbeddings', numEmbeddings],
      ['embeddingDim', embeddingDim],
    ] as const) {
      if (!Number.isInteger(n) || n < 1)
        throw new RangeError(`Embedding: ${what} must be a positive integer, got ${n}`);
    }
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    if (paddingIdx === undefined) this.paddingIdx = null;
    else {
      if (
        !Number.isInteger(paddingIdx) ||
        paddingIdx < -numEmbeddings ||
        paddingIdx >= numEmbeddings
      )
        throw new RangeError(
          `Embedding: paddingIdx must be an integer in [-${numEmbeddings}, ${numEmbeddings}), got ${paddingIdx}`,
        );
      this.paddingIdx = paddingIdx < 0 ? paddingIdx + numEmbeddings : paddingIdx;
    }
    this.weight = normal([numEmbeddings, embeddingDim], {
      rng: toRng(rng),
      dtype,
      requiresGrad: true,
    });
    if (this.paddingIdx !== null) {
      const at = this.paddingIdx * embeddingDim;
      this.weight.data.fill(0, at, at + embeddingDim);
    }
  }

  forward(indices: Tensor): Tensor {
    if (indices.dtype !== 'int32') {
      throw new DTypeError(
        `${this.toString()}: indices must be int32, got ${indices.dtype} of shape [${indices.shape.join(', ')}]`,
      );
    }
    const rows = this.weight.indexSelect(0, indices);
    if (this.paddingIdx === null) return rows;
    // The padding rows are passed on detached, so no gradient reaches weight[paddingIdx].
    return where(indices.eq(this.paddingIdx).expandDims(-1), rows.detach(), rows);
  }

  override toString(): string {
    return `Embedding(${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx === null ? '' : `, paddingIdx=${this.paddingIdx}`})`;
  }
}

export {
  customVjp,
  hessian,
  hvp,
  jacfwd,
  jacobian,
  jacrev,
  jvp,
  stopGradient,
  vjp,
} from './differentiate.js';
export { type VmapOptions, vmap } from './vmap.js';

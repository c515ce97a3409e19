// Where things are: the repository root (the folder holding go.mod) and the
// shared data folder ($LOOKALIKE_SHARED or ../shared beside the repository).
export { repoRoot, sharedDir } from '../ref/common.mjs';

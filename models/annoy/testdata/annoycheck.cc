// annoycheck drives Spotify Annoy's own annoylib.h so the Go tests can check
// that our .ann files and Annoy's are interchangeable. Built by
// compat_test.go when annoylib.h is available (see that file).
//
//   annoycheck build DIM TREES SEED vectors.f32 out.ann
//   annoycheck query DIM index.ann queries.f32 K SEARCH_K   (one line of ids per query)
//   annoycheck info  DIM index.ann                           (n_items n_trees)
//   annoycheck item  DIM index.ann I                         (the stored vector of item I)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include "kissrandom.h"
#include "annoylib.h"

// Newer annoylib.h puts everything in namespace Annoy; older copies do not.
namespace Annoy {}
using namespace Annoy;
using Index = AnnoyIndex<int32_t, float, Angular, Kiss32Random, AnnoyIndexSingleThreadedBuildPolicy>;

static std::vector<float> readFloats(const char* path) {
  FILE* f = fopen(path, "rb");
  if (!f) { perror(path); exit(2); }
  std::vector<float> v;
  float x;
  while (fread(&x, sizeof x, 1, f) == 1) v.push_back(x);
  fclose(f);
  return v;
}

int main(int argc, char** argv) {
  if (argc < 4) { fprintf(stderr, "usage: see source\n"); return 2; }
  const char* cmd = argv[1];
  int dim = atoi(argv[2]);
  Index ix(dim);
  char* err = nullptr;
  if (!strcmp(cmd, "build") && argc == 7) {
    int trees = atoi(argv[3]);
    ix.set_seed((uint32_t)strtoul(argv[4], nullptr, 10));
    std::vector<float> v = readFloats(argv[5]);
    for (size_t i = 0; i * dim < v.size(); i++) ix.add_item((int32_t)i, &v[i * dim]);
    if (!ix.build(trees, 1, &err)) { fprintf(stderr, "build: %s\n", err); return 1; }
    if (!ix.save(argv[6], false, &err)) { fprintf(stderr, "save: %s\n", err); return 1; }
    return 0;
  }
  if (!ix.load(argv[3], false, &err)) { fprintf(stderr, "load: %s\n", err); return 1; }
  if (!strcmp(cmd, "info")) {
    printf("%d %d\n", ix.get_n_items(), ix.get_n_trees());
    return 0;
  }
  if (!strcmp(cmd, "item") && argc == 5) {
    std::vector<float> v(dim);
    ix.get_item(atoi(argv[4]), v.data());
    for (int j = 0; j < dim; j++) printf("%.9g ", v[j]);
    printf("\n");
    return 0;
  }
  if (!strcmp(cmd, "query") && argc == 7) {
    std::vector<float> q = readFloats(argv[4]);
    int k = atoi(argv[5]), searchK = atoi(argv[6]);
    for (size_t i = 0; i * dim < q.size(); i++) {
      std::vector<int32_t> res;
      ix.get_nns_by_vector(&q[i * dim], k, searchK, &res, nullptr);
      for (int32_t r : res) printf("%d ", r);
      printf("\n");
    }
    return 0;
  }
  fprintf(stderr, "bad command\n");
  return 2;
}

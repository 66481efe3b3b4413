{
  "targets": [
    {
      "target_name": "musicbert_native",
      "sources": ["addon.c", "gemm.c", "kernels.c", "frontend.c"],
      "cflags": ["-O3", "-std=c11", "-Wall", "-Wextra"],
      "libraries": ["-lopenblas", "-lm", "-ldl", "-lpthread"]
    }
  ]
}

{
  "targets": [
    {
      "target_name": "segloop_conv3d",
      "sources": ["src/conv3d.cc"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-exceptions"],
      "cflags_cc!": ["-fno-rtti"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["OS=='linux'", {
          "include_dirs": ["/usr/include/x86_64-linux-gnu", "/usr/include/openblas"],
          "libraries": ["-lopenblas", "-lpthread"]
        }],
        ["OS=='mac'", {
          "defines": ["ACCELERATE_NEW_LAPACK"],
          "libraries": ["-framework Accelerate"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17"] }
        }]
      ]
    }
  ]
}

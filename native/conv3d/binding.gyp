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
          # Dynamic system OpenBLAS (as before). The static link via `<!@(node ../../scripts/native-addon.mjs
          # link-flags)` produced an empty LIBS in a first try (cblas_sgemm unresolved) and is reverted
          # until debugged; scripts/dist.mjs refuses to ship this dynamic build (docs/ml-results.md).
          "libraries": ["-lopenblas", "-lpthread"]
        }],
        ["OS=='mac'", {
          # Accelerate is part of macOS: nothing to ship. Its CBLAS header lives in vecLib.
          "defines": ["ACCELERATE_NEW_LAPACK"],
          "include_dirs": ["$(SDKROOT)/System/Library/Frameworks/Accelerate.framework/Frameworks/vecLib.framework/Headers"],
          "libraries": ["-framework Accelerate"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17"], "MACOSX_DEPLOYMENT_TARGET": "13.3" }
        }],
        ["OS=='win'", {
          # NOT BUILT YET (no Windows machine): OpenBLAS's release zip (OpenBLAS-<v>-x64.zip,
          # github.com/OpenMathLib/OpenBLAS/releases) unpacked at SEGLOOP_OPENBLAS_DIR; links its import
          # library, and libopenblas.dll is shipped beside the .node (Node loads addons with
          # LOAD_WITH_ALTERED_SEARCH_PATH, so the .node's folder is searched first). conv3d.cc's
          # __attribute__((weak)) declarations need an _MSC_VER branch first (docs/ml-results.md).
          "include_dirs": ["<!(node ../../scripts/native-addon.mjs openblas-dir)/include"],
          "libraries": ["<!(node ../../scripts/native-addon.mjs openblas-dir)/lib/libopenblas.lib"],
          "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17", "/O2"] } }
        }]
      ]
    }
  ]
}

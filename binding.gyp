{
  "targets": [
    {
      "target_name": "weft",
      "sources": [
        "src/collector/native/addon.cc",
        "src/collector/native/errors.cc",
        "src/collector/native/netns.cc",
        "src/collector/native/object.cc",
        "src/collector/native/maps.cc",
        "src/collector/native/tc.cc",
        "src/collector/native/ringbuf.cc",
        "src/collector/native/prog.cc",
        "src/collector/native/probe.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-missing-field-initializers", "-Wno-unused-parameter"],
      "libraries": ["-lbpf", "-lelf", "-lz"],
      "defines": ["NAPI_VERSION=8"]
    },
    {
      "target_name": "weft_memory",
      "sources": ["src/collector/native/memory.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}

// Map access by file descriptor. The whole-map reads loop inside C++ and hand back two Buffers,
// so reading 100,000 entries costs one crossing of the N-API boundary, not 100,000.
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "weft.h"

namespace weft {

namespace {

// Entries asked of the kernel per batch call. System calls are then rare enough not to show: 4096
// and the whole map in one call measured the same (100,000 entries). A hash bucket holding more
// than a call's room fails that call with ENOSPC; LookupBatch then offers more.
constexpr size_t kBatch = 4096;

Napi::Value Lookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0, "fd");
  Napi::Buffer<uint8_t> key = ArgBuffer(info, 1, "key");
  int32_t valueSize = ArgInt(info, 2, "valueSize");
  Napi::Buffer<uint8_t> value = Napi::Buffer<uint8_t>::New(env, valueSize);
  if (bpf_map_lookup_elem(fd, key.Data(), value.Data()) != 0) {
    if (errno == ENOENT) return env.Undefined();
    ThrowErrno(env, "map lookup failed", errno);
  }
  return value;
}

Napi::Value Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0, "fd");
  Napi::Buffer<uint8_t> key = ArgBuffer(info, 1, "key");
  Napi::Buffer<uint8_t> value = ArgBuffer(info, 2, "value");
  int32_t flags = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().Int32Value() : 0;
  if (bpf_map_update_elem(fd, key.Data(), value.Data(), flags) != 0) ThrowErrno(env, "map update failed", errno);
  return env.Undefined();
}

Napi::Value Delete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0, "fd");
  Napi::Buffer<uint8_t> key = ArgBuffer(info, 1, "key");
  if (bpf_map_delete_elem(fd, key.Data()) != 0) {
    if (errno == ENOENT) return Napi::Boolean::New(env, false);
    ThrowErrno(env, "map delete failed", errno);
  }
  return Napi::Boolean::New(env, true);
}

Napi::Object Result(Napi::Env env, const std::vector<uint8_t>& keys, const std::vector<uint8_t>& values,
                    size_t count, size_t keySize, size_t valueSize) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("keys", Napi::Buffer<uint8_t>::Copy(env, keys.data(), count * keySize));
  out.Set("values", Napi::Buffer<uint8_t>::Copy(env, values.data(), count * valueSize));
  out.Set("count", static_cast<double>(count));
  return out;
}

// Memory from malloc, not a std::vector: resizing it neither zero-fills nor copies what the kernel
// is about to overwrite, and the block becomes the JS Buffer itself (no second copy).
struct Malloced {
  void operator()(uint8_t* p) const { free(p); }
};
using Block = std::unique_ptr<uint8_t, Malloced>;

void Resize(Napi::Env env, Block& block, size_t bytes) {
  auto* p = static_cast<uint8_t*>(realloc(block.get(), std::max<size_t>(bytes, 1)));
  if (p == nullptr) ThrowErrno(env, "cannot allocate memory for a batch map read", ENOMEM);
  block.release();
  block.reset(p);
}

// Hands the block to V8 as a Buffer of `bytes`, freed by the garbage collector.
Napi::Buffer<uint8_t> ToBuffer(Napi::Env env, Block& block, size_t bytes) {
  if (bytes == 0) return Napi::Buffer<uint8_t>::New(env, 0);
  Resize(env, block, bytes);  // give back the unused tail: the Buffer may live long
  auto buffer = Napi::Buffer<uint8_t>::New(env, block.get(), bytes, [](Napi::Env, uint8_t* p) { free(p); });
  block.release();
  return buffer;
}

// First allocation: room for every entry the map can hold, up to kFirstBytes; beyond, it doubles.
// Pages are only touched as the kernel writes entries, so a mostly empty map costs what it holds.
// 4 MiB read 100,000 entries faster than 32 MiB under load: less fresh memory mapped per read.
constexpr size_t kFirstBytes = 4 << 20;

// lookupBatch(fd, keySize, valueSize, maxEntries, andDelete). valueSize is what one entry takes in
// user space (already multiplied out for per-CPU maps).
Napi::Value LookupBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0, "fd");
  size_t keySize = ArgInt(info, 1, "keySize");
  size_t valueSize = ArgInt(info, 2, "valueSize");
  size_t maxEntries = std::max<int32_t>(ArgInt(info, 3, "maxEntries"), 1);
  bool andDelete = info.Length() > 4 && info[4].ToBoolean().Value();
  size_t capacity = std::min(maxEntries, std::max<size_t>(kBatch, kFirstBytes / (keySize + valueSize)));
  Block keys, values;
  Resize(env, keys, capacity * keySize);
  Resize(env, values, capacity * valueSize);
  // The batch cursor is opaque: a bucket index for hash maps, a key for arrays.
  std::vector<uint8_t> cursor(std::max<size_t>(keySize, 8)), next(cursor.size());
  bool first = true;
  size_t count = 0;
  size_t batch = kBatch;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  for (;;) {
    // Room for more is needed to learn that the map is done (ENOENT) or, with lookup_and_delete,
    // to take entries added meanwhile: past max_entries, grow a batch at a time.
    if (count == capacity) {
      capacity = capacity < maxEntries ? std::min(capacity * 2, maxEntries) : capacity + kBatch;
      Resize(env, keys, capacity * keySize);
      Resize(env, values, capacity * valueSize);
    }
    uint32_t n = static_cast<uint32_t>(std::min<size_t>(capacity - count, batch));
    uint8_t* k = keys.get() + count * keySize;
    uint8_t* v = values.get() + count * valueSize;
    void* in = first ? nullptr : cursor.data();
    int err = andDelete ? bpf_map_lookup_and_delete_batch(fd, in, next.data(), k, v, &n, &opts)
                        : bpf_map_lookup_batch(fd, in, next.data(), k, v, &n, &opts);
    int e = errno;
    count += n;
    if (err != 0) {
      if (e == ENOENT) break;
      // A hash bucket holds more entries than the room offered and nothing was read: offer twice
      // the room, from the same cursor.
      if (e == ENOSPC && n == 0) {
        batch = std::max(batch, capacity - count) * 2;
        capacity = std::max(capacity, count + batch);
        Resize(env, keys, capacity * keySize);
        Resize(env, values, capacity * valueSize);
        continue;
      }
      ThrowErrno(env, andDelete ? "map lookup_and_delete_batch failed" : "map lookup_batch failed", e);
    }
    cursor.swap(next);
    first = false;
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("keys", ToBuffer(env, keys, count * keySize));
  out.Set("values", ToBuffer(env, values, count * valueSize));
  out.Set("count", static_cast<double>(count));
  return out;
}

// The slow path: get_next_key then lookup, two system calls per entry.
Napi::Value LookupEach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0, "fd");
  size_t keySize = ArgInt(info, 1, "keySize");
  size_t valueSize = ArgInt(info, 2, "valueSize");
  size_t capacity = std::min<size_t>(std::max<int32_t>(ArgInt(info, 3, "maxEntries"), 1), kBatch);
  std::vector<uint8_t> keys(capacity * keySize), values(capacity * valueSize);
  std::vector<uint8_t> key(keySize);
  size_t count = 0;
  bool first = true;
  for (;;) {
    if (count == capacity) {
      capacity *= 2;
      keys.resize(capacity * keySize);
      values.resize(capacity * valueSize);
    }
    uint8_t* k = keys.data() + count * keySize;
    if (bpf_map_get_next_key(fd, first ? nullptr : key.data(), k) != 0) {
      if (errno == ENOENT) break;
      ThrowErrno(env, "map get_next_key failed", errno);
    }
    first = false;
    memcpy(key.data(), k, keySize);
    if (bpf_map_lookup_elem(fd, k, values.data() + count * valueSize) != 0) {
      if (errno == ENOENT) continue;  // deleted since get_next_key: skip it
      ThrowErrno(env, "map lookup failed", errno);
    }
    count++;
  }
  return Result(env, keys, values, count, keySize, valueSize);
}

Napi::Value PossibleCpus(const Napi::CallbackInfo& info) {
  int n = libbpf_num_possible_cpus();
  if (n < 0) ThrowErrno(info.Env(), "cannot count possible CPUs", -n);
  return Napi::Number::New(info.Env(), n);
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0, "fd");
  if (fd >= 0) close(fd);
  return info.Env().Undefined();
}

}  // namespace

void InitMaps(Napi::Env env, Napi::Object exports) {
  exports.Set("mapLookup", Napi::Function::New(env, Lookup));
  exports.Set("mapUpdate", Napi::Function::New(env, Update));
  exports.Set("mapDelete", Napi::Function::New(env, Delete));
  exports.Set("mapLookupBatch", Napi::Function::New(env, LookupBatch));
  exports.Set("mapLookupEach", Napi::Function::New(env, LookupEach));
  exports.Set("possibleCpus", Napi::Function::New(env, PossibleCpus));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
}

}  // namespace weft

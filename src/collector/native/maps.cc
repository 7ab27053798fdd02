// Map access by file descriptor. The whole-map reads loop inside C++ and hand back two Buffers,
// so reading 100,000 entries costs one crossing of the N-API boundary, not 100,000.
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <vector>

#include "weft.h"

namespace weft {

namespace {

// Entries asked of the kernel per batch call: large enough that syscalls are rare, small enough
// that a hash bucket never overflows the request (that would be ENOSPC).
constexpr uint32_t kBatch = 4096;

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

// lookupBatch(fd, keySize, valueSize, maxEntries, andDelete). valueSize is what one entry takes in
// user space (already multiplied out for per-CPU maps).
Napi::Value LookupBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0, "fd");
  size_t keySize = ArgInt(info, 1, "keySize");
  size_t valueSize = ArgInt(info, 2, "valueSize");
  size_t maxEntries = std::max<int32_t>(ArgInt(info, 3, "maxEntries"), 1);
  bool andDelete = info.Length() > 4 && info[4].ToBoolean().Value();
  // Grown as entries come: a big, mostly empty map costs what it holds, not its max_entries.
  size_t capacity = std::min<size_t>(maxEntries, kBatch) + kBatch;
  std::vector<uint8_t> keys(capacity * keySize), values(capacity * valueSize);
  // The batch cursor is opaque: a bucket index for hash maps, a key for arrays.
  std::vector<uint8_t> cursor(std::max<size_t>(keySize, 8)), next(cursor.size());
  bool first = true;
  size_t count = 0;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  for (;;) {
    if (count + kBatch > capacity) {
      capacity = std::max(capacity * 2, count + kBatch);
      keys.resize(capacity * keySize);
      values.resize(capacity * valueSize);
    }
    uint32_t n = kBatch;
    int err = andDelete ? bpf_map_lookup_and_delete_batch(fd, first ? nullptr : cursor.data(), next.data(),
                                                          keys.data() + count * keySize,
                                                          values.data() + count * valueSize, &n, &opts)
                        : bpf_map_lookup_batch(fd, first ? nullptr : cursor.data(), next.data(),
                                               keys.data() + count * keySize, values.data() + count * valueSize,
                                               &n, &opts);
    int e = errno;
    count += n;
    if (err != 0) {
      if (e == ENOENT) break;
      ThrowErrno(env, andDelete ? "map lookup_and_delete_batch failed" : "map lookup_batch failed", e);
    }
    cursor.swap(next);
    first = false;
  }
  return Result(env, keys, values, count, keySize, valueSize);
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

// NativeObject: one BPF object file through its life — open, configure (map sizes, .rodata
// globals, which programs load), load with a verifier log, attach tracepoints, close.
// NativeLink: a libbpf link (tracepoint, raw tracepoint), destroyed on detach or when collected.
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <memory>
#include <vector>

#include "weft.h"

namespace weft {

namespace {

// Big enough for the tail of a long verifier log; the kernel keeps the last part when it rolls.
constexpr size_t kLogSize = 4 << 20;

// The NativeLink constructor, per Node environment (main thread and each worker have their own).
struct Instance {
  Napi::FunctionReference linkCtor;
};

class NativeLink : public Napi::ObjectWrap<NativeLink> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "NativeLink", {InstanceMethod("destroy", &NativeLink::Destroy)});
    auto* instance = new Instance{Napi::Persistent(f)};
    env.SetInstanceData(instance);
  }
  static Napi::Object Wrap(Napi::Env env, bpf_link* link) {
    Napi::Object o = env.GetInstanceData<Instance>()->linkCtor.New({});
    Unwrap(o)->link_ = link;
    return o;
  }
  explicit NativeLink(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeLink>(info) {}
  ~NativeLink() override { Release(); }

 private:
  void Release() {
    if (link_) bpf_link__destroy(link_);
    link_ = nullptr;
  }
  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }
  bpf_link* link_ = nullptr;
};

class NativeObject : public Napi::ObjectWrap<NativeObject> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(
        env, "NativeObject",
        {
            InstanceMethod("programs", &NativeObject::Programs),
            InstanceMethod("maps", &NativeObject::Maps),
            InstanceMethod("setMapMaxEntries", &NativeObject::SetMapMaxEntries),
            InstanceMethod("setRodata", &NativeObject::SetRodata),
            InstanceMethod("setAutoload", &NativeObject::SetAutoload),
            InstanceMethod("load", &NativeObject::Load),
            InstanceMethod("attachTracepoint", &NativeObject::AttachTracepoint),
            InstanceMethod("attachRawTracepoint", &NativeObject::AttachRawTracepoint),
            InstanceMethod("btfStruct", &NativeObject::BtfStruct),
            InstanceMethod("close", &NativeObject::Close),
        });
    exports.Set("NativeObject", f);
  }

  explicit NativeObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeObject>(info) {
    Napi::Env env = info.Env();
    path_ = ArgString(info, 0, "path");
    log_.reset(new char[kLogSize]);
    log_[0] = '\0';
    LIBBPF_OPTS(bpf_object_open_opts, opts, .kernel_log_buf = log_.get(), .kernel_log_size = kLogSize,
                .kernel_log_level = 0);
    ClearLibbpfLog();
    obj_ = bpf_object__open_file(path_.c_str(), &opts);
    if (!obj_) ThrowErrno(env, "cannot open BPF object " + path_, errno);
  }

  ~NativeObject() override {
    if (obj_) bpf_object__close(obj_);
  }

 private:
  bpf_object* Obj(Napi::Env env) {
    if (!obj_) throw Napi::Error::New(env, "BPF object " + path_ + " is closed");
    return obj_;
  }

  bpf_program* Prog(Napi::Env env, const std::string& name) {
    bpf_program* p = bpf_object__find_program_by_name(Obj(env), name.c_str());
    if (!p) throw Napi::Error::New(env, "no program named '" + name + "' in " + path_);
    return p;
  }

  bpf_map* Map(Napi::Env env, const std::string& name) {
    bpf_map* m = bpf_object__find_map_by_name(Obj(env), name.c_str());
    if (!m) throw Napi::Error::New(env, "no map named '" + name + "' in " + path_);
    return m;
  }

  Napi::Value Programs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    bpf_program* p;
    uint32_t i = 0;
    bpf_object__for_each_program(p, Obj(env)) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", bpf_program__name(p));
      o.Set("section", bpf_program__section_name(p));
      o.Set("type", static_cast<double>(bpf_program__type(p)));
      o.Set("autoload", bpf_program__autoload(p));
      o.Set("fd", bpf_program__fd(p));
      out.Set(i++, o);
    }
    return out;
  }

  Napi::Value Maps(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    bpf_map* m;
    uint32_t i = 0;
    bpf_object__for_each_map(m, Obj(env)) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", bpf_map__name(m));
      o.Set("type", static_cast<double>(bpf_map__type(m)));
      o.Set("keySize", bpf_map__key_size(m));
      o.Set("valueSize", bpf_map__value_size(m));
      o.Set("maxEntries", bpf_map__max_entries(m));
      o.Set("fd", bpf_map__fd(m));
      out.Set(i++, o);
    }
    return out;
  }

  Napi::Value SetMapMaxEntries(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string name = ArgString(info, 0, "map");
    int32_t n = ArgInt(info, 1, "maxEntries");
    if (n <= 0) throw Napi::RangeError::New(env, "max_entries of map '" + name + "' must be positive");
    ClearLibbpfLog();
    int err = bpf_map__set_max_entries(Map(env, name), static_cast<uint32_t>(n));
    if (err) ThrowErrno(env, "cannot set max_entries of map '" + name + "'", -err);
    return env.Undefined();
  }

  // A `const volatile` global lives in a .rodata* DATASEC; BTF says at which offset and how big.
  Napi::Value SetRodata(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string var = ArgString(info, 0, "variable");
    Napi::Buffer<uint8_t> value = ArgBuffer(info, 1, "value");
    const btf* b = bpf_object__btf(Obj(env));
    if (!b) throw Napi::Error::New(env, path_ + " has no BTF, so its .rodata globals cannot be found by name");
    for (uint32_t id = 1; id < btf__type_cnt(b); id++) {
      const btf_type* t = btf__type_by_id(b, id);
      if (!btf_is_datasec(t)) continue;
      const char* sec = btf__name_by_offset(b, t->name_off);
      if (strncmp(sec, ".rodata", 7) != 0) continue;
      const btf_var_secinfo* vsi = btf_var_secinfos(t);
      for (uint16_t k = 0; k < btf_vlen(t); k++, vsi++) {
        const btf_type* vt = btf__type_by_id(b, vsi->type);
        if (var != btf__name_by_offset(b, vt->name_off)) continue;
        if (value.Length() != vsi->size)
          throw Napi::RangeError::New(env, "rodata variable '" + var + "' is " + std::to_string(vsi->size) +
                                               " bytes, got " + std::to_string(value.Length()));
        bpf_map* m;
        bpf_object__for_each_map(m, obj_) {
          const char* mn = bpf_map__name(m);
          size_t ml = strlen(mn), sl = strlen(sec);
          if (ml < sl || strcmp(mn + ml - sl, sec) != 0) continue;
          size_t size = 0;
          auto* cur = static_cast<const uint8_t*>(bpf_map__initial_value(m, &size));
          if (!cur || vsi->offset + vsi->size > size) break;
          std::vector<uint8_t> data(cur, cur + size);
          memcpy(data.data() + vsi->offset, value.Data(), vsi->size);
          int err = bpf_map__set_initial_value(m, data.data(), size);
          if (err) ThrowErrno(env, "cannot set rodata variable '" + var + "'", -err);
          return env.Undefined();
        }
        throw Napi::Error::New(env, "no map backs section " + std::string(sec) + " of " + path_);
      }
    }
    throw Napi::Error::New(env, "no const volatile variable named '" + var + "' in " + path_);
  }

  Napi::Value SetAutoload(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string name = ArgString(info, 0, "program");
    bool on = info.Length() > 1 && info[1].ToBoolean().Value();
    int err = bpf_program__set_autoload(Prog(env, name), on);
    if (err) ThrowErrno(env, "cannot change autoload of program '" + name + "'", -err);
    return env.Undefined();
  }

  Napi::Value Load(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ClearLibbpfLog();
    // The verifier gives up with EAGAIN as soon as a signal is pending for the loading thread, and
    // a profiler's SIGPROF every 50 µs beats each of libbpf's five attempts: signals wait until the
    // load is done (tens of ms). Faults stay deliverable.
    sigset_t blocked, old;
    sigfillset(&blocked);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP}) sigdelset(&blocked, sig);
    pthread_sigmask(SIG_BLOCK, &blocked, &old);
    int err = bpf_object__load(Obj(env));
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (err) {
      std::string log(log_.get());
      ThrowErrno(env, "loading " + path_ + " failed", -err, log);
    }
    log_.reset();
    return env.Undefined();
  }

  Napi::Value AttachTracepoint(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string prog = ArgString(info, 0, "program");
    std::string cat = ArgString(info, 1, "category");
    std::string name = ArgString(info, 2, "name");
    bpf_program* p = Prog(env, prog);
    ClearLibbpfLog();
    bpf_link* l = bpf_program__attach_tracepoint(p, cat.c_str(), name.c_str());
    if (!l) ThrowErrno(env, "cannot attach program '" + prog + "' to tracepoint " + cat + ":" + name, errno);
    return NativeLink::Wrap(env, l);
  }

  Napi::Value AttachRawTracepoint(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string prog = ArgString(info, 0, "program");
    std::string name = ArgString(info, 1, "name");
    bpf_program* p = Prog(env, prog);
    ClearLibbpfLog();
    bpf_link* l;
    if (bpf_program__type(p) == BPF_PROG_TYPE_TRACING) {
      // A BTF-enabled raw tracepoint (SEC("tp_btf/NAME")): the kernel takes its target from the
      // BTF id fixed at load, and refuses a name. The name must be the one the section says.
      std::string sec = bpf_program__section_name(p);
      if (sec != "tp_btf/" + name) {
        ThrowErrno(env, "program '" + prog + "' is " + sec + ", not a raw tracepoint on " + name, EINVAL);
      }
      l = bpf_program__attach_trace(p);
    } else {
      l = bpf_program__attach_raw_tracepoint(p, name.c_str());
    }
    if (!l) ThrowErrno(env, "cannot attach program '" + prog + "' to raw tracepoint " + name, errno);
    return NativeLink::Wrap(env, l);
  }

  // Size and member offsets of a struct as the compiler laid it out (from the object's BTF).
  Napi::Value BtfStruct(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string name = ArgString(info, 0, "struct");
    const btf* b = bpf_object__btf(Obj(env));
    int id = b ? btf__find_by_name_kind(b, name.c_str(), BTF_KIND_STRUCT) : -ENOENT;
    if (id < 0) throw Napi::Error::New(env, "no struct " + name + " in the BTF of " + path_);
    const btf_type* t = btf__type_by_id(b, id);
    Napi::Object out = Napi::Object::New(env);
    out.Set("size", t->size);
    Napi::Array members = Napi::Array::New(env);
    const btf_member* m = btf_members(t);
    for (uint16_t k = 0; k < btf_vlen(t); k++, m++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", btf__name_by_offset(b, m->name_off));
      o.Set("offset", btf_member_bit_offset(t, k) / 8);
      o.Set("size", static_cast<double>(btf__resolve_size(b, m->type)));
      members.Set(k, o);
    }
    out.Set("members", members);
    return out;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (obj_) bpf_object__close(obj_);
    obj_ = nullptr;
    return info.Env().Undefined();
  }

  std::string path_;
  std::unique_ptr<char[]> log_;
  bpf_object* obj_ = nullptr;
};

}  // namespace

void InitObject(Napi::Env env, Napi::Object exports) {
  NativeLink::Init(env, exports);
  NativeObject::Init(env, exports);
}

}  // namespace weft

// What the running kernel offers, tested by doing it rather than by version numbers.
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/bpf.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <thread>

#include "weft.h"

namespace weft {

namespace {

constexpr int kTcxIngress = 46;

Napi::Value ProbeRingbuf(const Napi::CallbackInfo& info) {
  int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, nullptr, 0, 0, 4096, nullptr);
  if (fd >= 0) close(fd);
  return Napi::Boolean::New(info.Env(), fd >= 0);
}

// Loads `return TC_ACT_OK` and links it to tcx ingress of `lo` in a fresh network namespace that
// only a short-lived thread ever enters: nothing the system uses is touched, and the namespace
// disappears with the thread.
Napi::Value ProbeTcx(const Napi::CallbackInfo& info) {
  bool ok = false;
  std::thread t([&ok] {
    if (unshare(CLONE_NEWNET) != 0) return;
    struct bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    int prog = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "weft_probe", "GPL", insns, 2, nullptr);
    if (prog < 0) return;
    LIBBPF_OPTS(bpf_link_create_opts, opts);
    int link = bpf_link_create(prog, static_cast<int>(if_nametoindex("lo")), static_cast<bpf_attach_type>(kTcxIngress), &opts);
    ok = link >= 0;
    if (link >= 0) close(link);
    close(prog);
  });
  t.join();
  return Napi::Boolean::New(info.Env(), ok);
}

Napi::Value ProbeBpfStats(const Napi::CallbackInfo& info) {
  int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (fd >= 0) close(fd);
  return Napi::Boolean::New(info.Env(), fd >= 0);
}

// probeProgType(type) → whether the kernel loads a trivial program of that type.
Napi::Value ProbeProgType(const Napi::CallbackInfo& info) {
  int type = ArgInt(info, 0, "type");
  return Napi::Boolean::New(info.Env(), libbpf_probe_bpf_prog_type(static_cast<bpf_prog_type>(type), nullptr) == 1);
}

// vmlinuxHasType(name, kind) → whether the kernel's BTF names such a type.
Napi::Value VmlinuxHasStruct(const Napi::CallbackInfo& info) {
  static btf* vmlinux = btf__load_vmlinux_btf();
  std::string name = ArgString(info, 0, "name");
  bool found = vmlinux && btf__find_by_name_kind(vmlinux, name.c_str(), BTF_KIND_STRUCT) > 0;
  return Napi::Boolean::New(info.Env(), found);
}

// Tracepoint programs are attached by id, which only tracefs tells. Many systems mount it at
// boot; where nothing did, mount it at its standard place (as systemd would).
Napi::Value EnsureTracefs(const Napi::CallbackInfo& info) {
  struct stat st;
  if (stat("/sys/kernel/tracing/events", &st) == 0 || stat("/sys/kernel/debug/tracing/events", &st) == 0)
    return Napi::Boolean::New(info.Env(), false);
  if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0 && errno != EBUSY)
    ThrowErrno(info.Env(), "tracefs is not mounted and cannot be mounted at /sys/kernel/tracing", errno);
  return Napi::Boolean::New(info.Env(), true);
}

}  // namespace

void InitProbe(Napi::Env env, Napi::Object exports) {
  exports.Set("probeRingbuf", Napi::Function::New(env, ProbeRingbuf));
  exports.Set("probeTcx", Napi::Function::New(env, ProbeTcx));
  exports.Set("probeBpfStats", Napi::Function::New(env, ProbeBpfStats));
  exports.Set("probeProgType", Napi::Function::New(env, ProbeProgType));
  exports.Set("vmlinuxHasStruct", Napi::Function::New(env, VmlinuxHasStruct));
  exports.Set("ensureTracefs", Napi::Function::New(env, EnsureTracefs));
}

}  // namespace weft

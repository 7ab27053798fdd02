// TC attachment of sched_cls programs, in this network namespace or another one.
// tcx: a BPF link (kernel 6.6+). Unpinned, it lives exactly as long as its fd, so the kernel
// detaches it when the collector exits, even by SIGKILL.
// clsact: a classic filter with our own handle and priority; it outlives the process, so the
// TypeScript side records what we created and removes it on close or on the next start.
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "netns.h"
#include "weft.h"

namespace weft {

namespace {

// Not in bookworm's linux/bpf.h (added in 6.6).
constexpr int kTcxIngress = 46;
constexpr int kTcxEgress = 47;

bool Ingress(Napi::Env env, const std::string& dir) {
  if (dir == "ingress") return true;
  if (dir == "egress") return false;
  throw Napi::TypeError::New(env, "direction must be 'ingress' or 'egress', got '" + dir + "'");
}

std::string NsLabel(const std::string& netns) { return netns.empty() ? "" : " in " + netns; }

void EnterOrThrow(Napi::Env env, const NetnsGuard& g, const std::string& netns) {
  if (g.error()) ThrowErrno(env, "cannot enter network namespace " + netns, g.error());
}

// Resolves info[i] (name or index) inside the current namespace; fills name and index.
void ResolveInterface(const Napi::CallbackInfo& info, size_t i, const std::string& netns, unsigned* index,
                      std::string* name) {
  Napi::Env env = info.Env();
  char buf[IF_NAMESIZE] = {0};
  if (info[i].IsNumber()) {
    *index = info[i].As<Napi::Number>().Uint32Value();
    if (*index == 0 || !if_indextoname(*index, buf))
      throw Napi::Error::New(env, "no interface with index " + std::to_string(*index) + NsLabel(netns));
    *name = buf;
  } else if (info[i].IsString()) {
    *name = info[i].As<Napi::String>().Utf8Value();
    *index = IfIndex(*name);
    if (*index == 0) throw Napi::Error::New(env, "no interface named '" + *name + "'" + NsLabel(netns));
  } else {
    throw Napi::TypeError::New(env, "interface must be a name or an index");
  }
}

// Filters (not the per-priority heads, which have handle 0) under clsact on one side.
int CountFilters(unsigned ifindex, bool ingress) {
  int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (sock < 0) return -errno;
  struct {
    nlmsghdr n;
    tcmsg t;
  } req;
  memset(&req, 0, sizeof(req));
  req.n.nlmsg_len = NLMSG_LENGTH(sizeof(tcmsg));
  req.n.nlmsg_type = RTM_GETTFILTER;
  req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.n.nlmsg_seq = 1;
  req.t.tcm_family = AF_UNSPEC;
  req.t.tcm_ifindex = static_cast<int>(ifindex);
  req.t.tcm_parent = TC_H_MAKE(TC_H_CLSACT, ingress ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
  if (send(sock, &req, req.n.nlmsg_len, 0) < 0) {
    int e = errno;
    close(sock);
    return -e;
  }
  int count = 0;
  char buf[32768];
  for (;;) {
    ssize_t len = recv(sock, buf, sizeof(buf), 0);
    if (len < 0) {
      if (errno == EINTR) continue;
      count = -errno;
      break;
    }
    for (nlmsghdr* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, static_cast<unsigned>(len));
         h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == NLMSG_DONE) goto done;
      if (h->nlmsg_type == NLMSG_ERROR) {
        int e = reinterpret_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
        // No clsact qdisc at all means no filters.
        if (e != 0) count = (e == -EINVAL || e == -ENOENT) ? 0 : e;
        goto done;
      }
      if (h->nlmsg_type == RTM_NEWTFILTER && reinterpret_cast<tcmsg*>(NLMSG_DATA(h))->tcm_handle != 0) count++;
    }
  }
done:
  close(sock);
  return count;
}

// tcxAttach(netns, interface, direction, progFd) → { fd, ifindex, ifname }
Napi::Value TcxAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns = ArgString(info, 0, "netns");
  bool ingress = Ingress(env, ArgString(info, 2, "direction"));
  int progFd = ArgInt(info, 3, "progFd");
  NetnsGuard g(netns);
  EnterOrThrow(env, g, netns);
  unsigned ifindex;
  std::string ifname;
  ResolveInterface(info, 1, netns, &ifindex, &ifname);
  LIBBPF_OPTS(bpf_link_create_opts, opts);
  int fd = bpf_link_create(progFd, static_cast<int>(ifindex),
                           static_cast<bpf_attach_type>(ingress ? kTcxIngress : kTcxEgress), &opts);
  if (fd < 0)
    ThrowErrno(env, "cannot attach tcx " + std::string(ingress ? "ingress" : "egress") + " on " + ifname + NsLabel(netns),
               errno);
  Napi::Object out = Napi::Object::New(env);
  out.Set("fd", fd);
  out.Set("ifindex", ifindex);
  out.Set("ifname", ifname);
  return out;
}

// tcAttach(netns, interface, direction, progFd, handle, firstPriority, priorities)
//   → { ifindex, ifname, priority, progId, createdQdisc }
// Tries priorities firstPriority.. in turn, so two of our programs can share one hook.
Napi::Value TcAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns = ArgString(info, 0, "netns");
  bool ingress = Ingress(env, ArgString(info, 2, "direction"));
  int progFd = ArgInt(info, 3, "progFd");
  uint32_t handle = static_cast<uint32_t>(info[4].As<Napi::Number>().Int64Value());
  int firstPrio = ArgInt(info, 5, "firstPriority");
  int prios = ArgInt(info, 6, "priorities");
  NetnsGuard g(netns);
  EnterOrThrow(env, g, netns);
  unsigned ifindex;
  std::string ifname;
  ResolveInterface(info, 1, netns, &ifindex, &ifname);
  std::string where = std::string(ingress ? "ingress" : "egress") + " of " + ifname + NsLabel(netns);

  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex), .attach_point = BPF_TC_INGRESS);
  ClearLibbpfLog();
  int err = bpf_tc_hook_create(&hook);
  bool created = err == 0;
  if (err && err != -EEXIST) ThrowErrno(env, "cannot create clsact qdisc on " + ifname + NsLabel(netns), -err);
  hook.attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS;

  int prio = firstPrio;
  LIBBPF_OPTS(bpf_tc_opts, opts);
  for (; prio < firstPrio + prios; prio++) {
    opts.handle = handle;
    opts.priority = static_cast<uint32_t>(prio);
    opts.prog_fd = progFd;
    opts.flags = 0;
    opts.prog_id = 0;
    err = bpf_tc_attach(&hook, &opts);
    if (err != -EEXIST) break;
  }
  if (err) {
    if (created && CountFilters(ifindex, true) == 0 && CountFilters(ifindex, false) == 0) {
      hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
      bpf_tc_hook_destroy(&hook);
    }
    ThrowErrno(env, err == -EEXIST ? "every weft priority is taken on " + where : "cannot attach clsact filter on " + where,
               -err);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("ifindex", ifindex);
  out.Set("ifname", ifname);
  out.Set("priority", prio);
  out.Set("progId", opts.prog_id);
  out.Set("createdQdisc", created);
  return out;
}

// tcDetach(netns, ifindex, direction, handle, priority, progId) → true if our filter was removed.
// progId (when not 0) must match, so a filter another process put there since is left alone.
Napi::Value TcDetach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns = ArgString(info, 0, "netns");
  int ifindex = ArgInt(info, 1, "ifindex");
  bool ingress = Ingress(env, ArgString(info, 2, "direction"));
  uint32_t handle = static_cast<uint32_t>(info[3].As<Napi::Number>().Int64Value());
  uint32_t prio = static_cast<uint32_t>(ArgInt(info, 4, "priority"));
  uint32_t progId = static_cast<uint32_t>(ArgInt(info, 5, "progId"));
  NetnsGuard g(netns);
  if (g.error() == ENOENT) return Napi::Boolean::New(env, false);  // namespace gone, filters with it
  EnterOrThrow(env, g, netns);
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
  LIBBPF_OPTS(bpf_tc_opts, q, .handle = handle, .priority = prio);
  ClearLibbpfLog();
  int err = bpf_tc_query(&hook, &q);
  if (err == -ENOENT || err == -ENODEV || err == -EINVAL) return Napi::Boolean::New(env, false);
  if (err) ThrowErrno(env, "cannot query our clsact filter on ifindex " + std::to_string(ifindex) + NsLabel(netns), -err);
  if (progId != 0 && q.prog_id != progId) return Napi::Boolean::New(env, false);
  LIBBPF_OPTS(bpf_tc_opts, d, .handle = handle, .priority = prio);
  err = bpf_tc_detach(&hook, &d);
  if (err == -ENOENT) return Napi::Boolean::New(env, false);
  if (err) ThrowErrno(env, "cannot detach our clsact filter on ifindex " + std::to_string(ifindex) + NsLabel(netns), -err);
  return Napi::Boolean::New(env, true);
}

// tcRemoveIdleClsact(netns, ifindex) → 'removed' when the clsact qdisc had no filter left and was
// deleted, 'in-use' when it still has filters (ours or anyone's), 'gone' when the namespace, the
// interface or the qdisc no longer exists.
Napi::Value TcRemoveIdleClsact(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns = ArgString(info, 0, "netns");
  int ifindex = ArgInt(info, 1, "ifindex");
  NetnsGuard g(netns);
  if (g.error() == ENOENT) return Napi::String::New(env, "gone");
  EnterOrThrow(env, g, netns);
  char name[IF_NAMESIZE];
  if (!if_indextoname(static_cast<unsigned>(ifindex), name)) return Napi::String::New(env, "gone");
  int in = CountFilters(ifindex, true), out = CountFilters(ifindex, false);
  if (in < 0) ThrowErrno(env, "cannot list filters on " + std::string(name) + NsLabel(netns), -in);
  if (out < 0) ThrowErrno(env, "cannot list filters on " + std::string(name) + NsLabel(netns), -out);
  if (in + out > 0) return Napi::String::New(env, "in-use");
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
              .attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS));
  ClearLibbpfLog();
  int err = bpf_tc_hook_destroy(&hook);
  if (err == -ENOENT || err == -EINVAL) return Napi::String::New(env, "gone");
  if (err) ThrowErrno(env, "cannot remove clsact qdisc from " + std::string(name) + NsLabel(netns), -err);
  return Napi::String::New(env, "removed");
}

// tcFilterCount(netns, ifindex, direction) → filters under clsact there (ours and others').
Napi::Value TcFilterCount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns = ArgString(info, 0, "netns");
  int ifindex = ArgInt(info, 1, "ifindex");
  bool ingress = Ingress(env, ArgString(info, 2, "direction"));
  NetnsGuard g(netns);
  EnterOrThrow(env, g, netns);
  int n = CountFilters(ifindex, ingress);
  if (n < 0) ThrowErrno(env, "cannot list filters on ifindex " + std::to_string(ifindex) + NsLabel(netns), -n);
  return Napi::Number::New(env, n);
}

// ifIndex(netns, interface) → { ifindex, ifname }
Napi::Value IfIndexOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns = ArgString(info, 0, "netns");
  NetnsGuard g(netns);
  EnterOrThrow(env, g, netns);
  unsigned ifindex;
  std::string ifname;
  ResolveInterface(info, 1, netns, &ifindex, &ifname);
  Napi::Object out = Napi::Object::New(env);
  out.Set("ifindex", ifindex);
  out.Set("ifname", ifname);
  return out;
}

}  // namespace

void InitTc(Napi::Env env, Napi::Object exports) {
  exports.Set("ifIndex", Napi::Function::New(env, IfIndexOf));
  exports.Set("tcxAttach", Napi::Function::New(env, TcxAttach));
  exports.Set("tcAttach", Napi::Function::New(env, TcAttach));
  exports.Set("tcDetach", Napi::Function::New(env, TcDetach));
  exports.Set("tcRemoveIdleClsact", Napi::Function::New(env, TcRemoveIdleClsact));
  exports.Set("tcFilterCount", Napi::Function::New(env, TcFilterCount));
}

}  // namespace weft

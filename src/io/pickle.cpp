#include "io/pickle.h"

#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"

namespace sv::io {

namespace {

constexpr int kMaxDepth = 64;
constexpr int kMaxRank = 16;
// A state dict of a few thousand tensors makes tens of thousands of values; each costs ~300 bytes.
constexpr size_t kMaxValues = size_t{1} << 22;

// File text in an error message: printable ASCII only, at most 80 characters.
std::string shown(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 80)) out += (c >= 32 && c < 127) ? c : '?';
  return s.size() > 80 ? out + "..." : out;
}

using Mut = std::shared_ptr<PickleValue>;

struct Allowed {
  const char* name;
  enum Kind { Callable, StorageType } kind;
  DType dtype;
};

// Everything torch.save writes for a state dict of dense tensors. Anything else is refused by name.
constexpr Allowed kAllowed[] = {
    {"collections.OrderedDict", Allowed::Callable, DType::F32},
    {"torch._utils._rebuild_tensor_v2", Allowed::Callable, DType::F32},
    {"torch._utils._rebuild_parameter", Allowed::Callable, DType::F32},
    {"torch._utils._rebuild_parameter_with_state", Allowed::Callable, DType::F32},
    {"torch.FloatStorage", Allowed::StorageType, DType::F32},
    {"torch.DoubleStorage", Allowed::StorageType, DType::F64},
    {"torch.HalfStorage", Allowed::StorageType, DType::F16},
    {"torch.BFloat16Storage", Allowed::StorageType, DType::BF16},
    {"torch.LongStorage", Allowed::StorageType, DType::I64},
    {"torch.IntStorage", Allowed::StorageType, DType::I32},
    {"torch.ShortStorage", Allowed::StorageType, DType::I16},
    {"torch.CharStorage", Allowed::StorageType, DType::I8},
    {"torch.ByteStorage", Allowed::StorageType, DType::U8},
    {"torch.BoolStorage", Allowed::StorageType, DType::Bool},
};

const Allowed* find_allowed(const std::string& name) {
  for (const auto& a : kAllowed)
    if (name == a.name) return &a;
  return nullptr;
}

const char* opcode_name(uint8_t op) {
  switch (op) {
    case 'i': return "INST";
    case 'o': return "OBJ";
    case 0x81: return "NEWOBJ";
    case 0x92: return "NEWOBJ_EX";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 'P': return "PERSID";
    case 'I': return "INT";
    case 'L': return "LONG";
    case 'F': return "FLOAT";
    case 'S': return "STRING";
    case 'V': return "UNICODE";
    case 'p': return "PUT";
    case 'g': return "GET";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return "unknown";
  }
}

class Unpickler {
 public:
  Unpickler(const uint8_t* p, size_t n) : p_(p), n_(n) {
    none_ = make(PickleValue::Kind::None);
    true_ = make(PickleValue::Kind::Bool);
    true_->b = true;
    false_ = make(PickleValue::Kind::Bool);
  }

  PickleRef run(size_t* consumed) {
    while (true) {
      const uint8_t op = u8();
      if (op == '.') break;
      step(op);
    }
    SV_CHECK(stack_.size() == 1 && marks_.empty(), "pickle: STOP with ", stack_.size(), " values on the stack");
    if (consumed) *consumed = pos_;
    return stack_.back();
  }

 private:
  const uint8_t* p_;
  size_t n_, pos_ = 0;
  std::vector<Mut> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Mut> memo_;
  // Per dict under construction: its keys' positions, so SETITEMS stays linear in the number of keys.
  std::unordered_map<const PickleValue*, std::unordered_map<std::string, size_t>> dict_index_;
  size_t values_ = 0;
  Mut none_, true_, false_;

  // ---- reading ----
  void need(size_t k) {
    SV_CHECK(k <= n_ - pos_, "pickle: truncated (needs ", k, " more bytes at offset ", pos_, ")");
  }
  uint8_t u8() {
    need(1);
    return p_[pos_++];
  }
  uint64_t uint_le(size_t k) {
    need(k);
    uint64_t v = 0;
    for (size_t i = 0; i < k; ++i) v |= static_cast<uint64_t>(p_[pos_ + i]) << (8 * i);
    pos_ += k;
    return v;
  }
  std::string bytes(uint64_t k) {
    SV_CHECK(k <= n_ - pos_, "pickle: a string of ", k, " bytes runs past the end (", n_ - pos_, " left)");
    std::string s(reinterpret_cast<const char*>(p_ + pos_), static_cast<size_t>(k));
    pos_ += static_cast<size_t>(k);
    return s;
  }
  std::string line() {
    const void* nl = std::memchr(p_ + pos_, '\n', n_ - pos_);
    SV_CHECK(nl != nullptr, "pickle: unterminated GLOBAL name");
    const size_t k = static_cast<const uint8_t*>(nl) - (p_ + pos_);
    std::string s = bytes(k);
    ++pos_;
    return s;
  }

  // ---- values ----
  Mut make(PickleValue::Kind k) {
    SV_CHECK(++values_ <= kMaxValues, "pickle: more than ", kMaxValues, " values (not a state dict)");
    auto v = std::make_shared<PickleValue>();
    v->kind = k;
    return v;
  }
  Mut make_int(int64_t i) {
    auto v = make(PickleValue::Kind::Int);
    v->i = i;
    return v;
  }
  Mut make_str(PickleValue::Kind k, std::string s) {
    auto v = make(k);
    v->s = std::move(s);
    return v;
  }
  void push(Mut v) { stack_.push_back(std::move(v)); }
  Mut pop() {
    SV_CHECK(!stack_.empty() && (marks_.empty() || stack_.size() > marks_.back()), "pickle: stack underflow");
    Mut v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  Mut& top() {
    SV_CHECK(!stack_.empty() && (marks_.empty() || stack_.size() > marks_.back()), "pickle: stack underflow");
    return stack_.back();
  }
  std::vector<Mut> pop_mark() {
    SV_CHECK(!marks_.empty(), "pickle: no MARK on the stack");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Mut> out(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(m)),
                         std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return out;
  }
  // `child` goes inside `parent`: it can no longer change, which rules out reference cycles.
  void adopt(PickleValue& parent, const Mut& child) {
    SV_CHECK(child.get() != &parent, "pickle: a container that contains itself (not a state dict)");
    if (child->kind == PickleValue::Kind::List || child->kind == PickleValue::Kind::Dict) {
      child->sealed = true;
      dict_index_.erase(child.get());
    }
    parent.depth = std::max(parent.depth, child->depth + 1);
    SV_CHECK(parent.depth <= kMaxDepth, "pickle: values nested deeper than ", kMaxDepth, " levels");
  }
  void check_mutable(const PickleValue& v, const char* what) {
    SV_CHECK(!v.sealed, "pickle: ", what, " changes a container after it was nested (not a state dict)");
  }
  Mut tuple(std::vector<Mut> items) {
    auto t = make(PickleValue::Kind::Tuple);
    for (auto& it : items) {
      adopt(*t, it);
      t->items.push_back(std::move(it));
    }
    return t;
  }
  void set_items(PickleValue& d, std::vector<Mut>& kv) {
    SV_CHECK(d.kind == PickleValue::Kind::Dict, "pickle: SETITEM on a ", d.describe(), ", not a dict");
    check_mutable(d, "SETITEM");
    SV_CHECK(kv.size() % 2 == 0, "pickle: SETITEMS with an odd number of values");
    auto& index = dict_index_[&d];
    for (size_t i = 0; i < kv.size(); i += 2) {
      const auto& key = kv[i];
      SV_CHECK(key->kind == PickleValue::Kind::String || key->kind == PickleValue::Kind::Int,
               "pickle: dict key of type ", key->describe(), " (a state dict has string keys)");
      adopt(d, kv[i + 1]);
      std::string k(1, key->kind == PickleValue::Kind::String ? 's' : 'i');
      k += key->kind == PickleValue::Kind::String ? key->s : std::to_string(key->i);
      auto it = index.find(k);
      if (it != index.end()) {
        d.entries[it->second].second = kv[i + 1];
      } else {
        index.emplace(k, d.entries.size());
        d.entries.emplace_back(key, kv[i + 1]);
      }
    }
  }

  static std::vector<int64_t> int_tuple(const PickleValue& v, const char* what) {
    SV_CHECK(v.kind == PickleValue::Kind::Tuple, "pickle: tensor ", what, " is a ", v.describe(), ", not a tuple");
    SV_CHECK(v.items.size() <= static_cast<size_t>(kMaxRank), "pickle: tensor of rank ", v.items.size());
    std::vector<int64_t> out;
    for (const auto& it : v.items) {
      SV_CHECK(it->kind == PickleValue::Kind::Int && it->i >= 0, "pickle: tensor ", what,
               " holds a non-integer or negative entry");
      out.push_back(it->i);
    }
    return out;
  }

  Mut rebuild_tensor(const std::vector<PickleRef>& a) {
    SV_CHECK(a.size() == 6 || a.size() == 7, "pickle: _rebuild_tensor_v2 with ", a.size(), " arguments");
    SV_CHECK(a[0]->kind == PickleValue::Kind::Storage, "pickle: _rebuild_tensor_v2 on a ", a[0]->describe(),
             ", not a storage");
    SV_CHECK(a[1]->kind == PickleValue::Kind::Int && a[1]->i >= 0 && a[1]->i <= a[0]->tensor.storage_numel,
             "pickle: tensor storage offset outside its storage");
    auto t = make(PickleValue::Kind::Tensor);
    t->tensor = a[0]->tensor;
    t->tensor.offset = a[1]->i;
    t->tensor.shape = int_tuple(*a[2], "size");
    t->tensor.stride = int_tuple(*a[3], "stride");
    SV_CHECK(t->tensor.shape.size() == t->tensor.stride.size(), "pickle: tensor size and stride differ in rank");
    SV_CHECK(a[5]->kind == PickleValue::Kind::Dict && a[5]->entries.empty(),
             "pickle: tensor with backward hooks (not a plain state dict)");
    // The furthest element must lie inside the storage (in 128-bit arithmetic: 40-bit sizes times 40-bit
    // strides overflow int64).
    __int128 last = t->tensor.offset;
    bool empty = false;
    for (size_t d = 0; d < t->tensor.shape.size(); ++d) {
      const int64_t sz = t->tensor.shape[d], st = t->tensor.stride[d];
      SV_CHECK(sz < (int64_t{1} << 40) && st < (int64_t{1} << 40), "pickle: tensor size/stride out of range");
      if (sz == 0) empty = true;
      else last += static_cast<__int128>(sz - 1) * st;
      SV_CHECK(last < (static_cast<__int128>(1) << 62), "pickle: tensor view out of range");
    }
    SV_CHECK(empty || last < t->tensor.storage_numel, "pickle: tensor view (offset ", t->tensor.offset,
             ", size ", shape_str(t->tensor.shape), ") runs past its storage of ", t->tensor.storage_numel,
             " elements");
    return t;
  }

  Mut reduce(const Mut& fn, const Mut& args) {
    SV_CHECK(fn->kind == PickleValue::Kind::Global, "pickle: REDUCE calls a ", fn->describe(),
             " (only known globals may be called)");
    SV_CHECK(args->kind == PickleValue::Kind::Tuple, "pickle: REDUCE arguments are not a tuple");
    const auto& a = args->items;
    const std::string& name = fn->s;
    if (name == "collections.OrderedDict") {
      SV_CHECK(a.empty(), "pickle: OrderedDict called with arguments");
      return make(PickleValue::Kind::Dict);
    }
    if (name == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(a);
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
      SV_CHECK(a.size() >= 3 && a[0]->kind == PickleValue::Kind::Tensor, "pickle: malformed ", name);
      SV_CHECK(a[2]->kind == PickleValue::Kind::Dict && a[2]->entries.empty(),
               "pickle: parameter with backward hooks (not a plain state dict)");
      return std::const_pointer_cast<PickleValue>(a[0]);
    }
    SV_THROW("pickle: ", name, " cannot be called (it is a storage type)");
  }

  Mut persistent_load(const Mut& pid) {
    SV_CHECK(pid->kind == PickleValue::Kind::Tuple && (pid->items.size() == 5 || pid->items.size() == 6) &&
                 pid->items[0]->kind == PickleValue::Kind::String && pid->items[0]->s == "storage",
             "pickle: persistent id is not a ('storage', ...) record");
    const auto& it = pid->items;
    SV_CHECK(it[1]->kind == PickleValue::Kind::Global, "pickle: storage type is not a global");
    const Allowed* al = find_allowed(it[1]->s);
    SV_CHECK(al && al->kind == Allowed::StorageType, "pickle: ", it[1]->s, " is not a storage type");
    SV_CHECK(it[2]->kind == PickleValue::Kind::String && !it[2]->s.empty() && it[2]->s.size() <= 64,
             "pickle: storage key is not a short string");
    SV_CHECK(it[3]->kind == PickleValue::Kind::String, "pickle: storage location is not a string");
    SV_CHECK(it[4]->kind == PickleValue::Kind::Int && it[4]->i >= 0 && it[4]->i < (int64_t{1} << 48),
             "pickle: storage size out of range");
    SV_CHECK(it.size() == 5 || it[5]->kind == PickleValue::Kind::None,
             "pickle: storage views (legacy view_metadata) are not supported");
    auto s = make(PickleValue::Kind::Storage);
    s->tensor.storage_key = it[2]->s;
    s->tensor.dtype = al->dtype;
    s->tensor.storage_numel = it[4]->i;
    return s;
  }

  Mut global(const std::string& module, const std::string& name) {
    const std::string full = module + "." + name;
    SV_CHECK(find_allowed(full) != nullptr, "pickle: refusing global ", shown(full),
             " (a checkpoint may hold only tensors, dicts and plain values)");
    return make_str(PickleValue::Kind::Global, full);
  }

  void memo_put(uint64_t idx) {
    SV_CHECK(memo_.size() < (size_t{1} << 24) || memo_.count(idx), "pickle: memo too large");
    memo_[idx] = top();
  }
  void memo_get(uint64_t idx) {
    auto it = memo_.find(idx);
    SV_CHECK(it != memo_.end(), "pickle: memo entry ", idx, " read before it was written");
    push(it->second);
  }

  void step(uint8_t op) {
    using K = PickleValue::Kind;
    switch (op) {
      case 0x80: {  // PROTO
        const uint8_t v = u8();
        SV_CHECK(v <= 5, "pickle: protocol ", int(v), " is newer than 5");
        break;
      }
      case 0x95: uint_le(8); break;  // FRAME: a length hint only
      case '(': marks_.push_back(stack_.size()); break;
      case '0': pop(); break;
      case '1': pop_mark(); break;
      case '2': push(top()); break;
      case 'N': push(none_); break;
      case 0x88: push(true_); break;
      case 0x89: push(false_); break;
      case 'J': push(make_int(static_cast<int32_t>(uint_le(4)))); break;
      case 'K': push(make_int(static_cast<int64_t>(uint_le(1)))); break;
      case 'M': push(make_int(static_cast<int64_t>(uint_le(2)))); break;
      case 0x8a:
      case 0x8b: {  // LONG1 / LONG4: little-endian two's complement
        const uint64_t k = op == 0x8a ? uint_le(1) : uint_le(4);
        std::string b = bytes(k);
        if (k <= 8) {
          uint64_t u = 0;
          for (size_t i = 0; i < k; ++i) u |= static_cast<uint64_t>(static_cast<uint8_t>(b[i])) << (8 * i);
          if (k > 0 && k < 8 && (static_cast<uint8_t>(b[k - 1]) & 0x80)) u |= ~uint64_t{0} << (8 * k);
          push(make_int(static_cast<int64_t>(u)));
        } else {
          push(make_str(K::BigInt, std::move(b)));
        }
        break;
      }
      case 'G': {
        need(8);
        uint64_t u = 0;
        for (int i = 0; i < 8; ++i) u = (u << 8) | p_[pos_ + i];
        pos_ += 8;
        auto v = make(K::Float);
        std::memcpy(&v->f, &u, 8);
        push(v);
        break;
      }
      case 'X': push(make_str(K::String, bytes(uint_le(4)))); break;
      case 0x8c: push(make_str(K::String, bytes(uint_le(1)))); break;
      case 0x8d: push(make_str(K::String, bytes(uint_le(8)))); break;
      case 'T': push(make_str(K::String, bytes(uint_le(4)))); break;  // BINSTRING (protocol < 3 str)
      case 'U': push(make_str(K::String, bytes(uint_le(1)))); break;
      case 'B': push(make_str(K::Bytes, bytes(uint_le(4)))); break;
      case 'C': push(make_str(K::Bytes, bytes(uint_le(1)))); break;
      case 0x8e: push(make_str(K::Bytes, bytes(uint_le(8)))); break;
      case ')': push(make(K::Tuple)); break;
      case 't': push(tuple(pop_mark())); break;
      case 0x85:
      case 0x86:
      case 0x87: {
        const size_t k = op - 0x84;
        std::vector<Mut> items(k);
        for (size_t i = k; i-- > 0;) items[i] = pop();
        push(tuple(std::move(items)));
        break;
      }
      case ']': push(make(K::List)); break;
      case 'l': {
        auto items = pop_mark();
        auto l = make(K::List);
        for (auto& it : items) {
          adopt(*l, it);
          l->items.push_back(std::move(it));
        }
        push(l);
        break;
      }
      case 'a':
      case 'e': {
        std::vector<Mut> items;
        if (op == 'a') items.push_back(pop());
        else items = pop_mark();
        Mut& l = top();
        SV_CHECK(l->kind == K::List, "pickle: APPEND on a ", l->describe(), ", not a list");
        check_mutable(*l, "APPEND");
        for (auto& it : items) {
          adopt(*l, it);
          l->items.push_back(std::move(it));
        }
        break;
      }
      case '}': push(make(K::Dict)); break;
      case 'd': {
        auto kv = pop_mark();
        auto d = make(K::Dict);
        set_items(*d, kv);
        push(d);
        break;
      }
      case 's':
      case 'u': {
        std::vector<Mut> kv;
        if (op == 's') {
          kv.resize(2);
          kv[1] = pop();
          kv[0] = pop();
        } else {
          kv = pop_mark();
        }
        set_items(*top(), kv);
        break;
      }
      case 'c': {
        std::string module = line();
        std::string name = line();
        push(global(module, name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Mut name = pop(), module = pop();
        SV_CHECK(module->kind == K::String && name->kind == K::String, "pickle: STACK_GLOBAL needs two strings");
        push(global(module->s, name->s));
        break;
      }
      case 'R': {
        Mut args = pop();
        Mut fn = pop();
        push(reduce(fn, args));
        break;
      }
      case 'b': {  // BUILD: only the attribute dict torch attaches to a state dict (_metadata) is accepted
        Mut state = pop();
        Mut& obj = top();
        SV_CHECK(obj->kind == K::Dict && (state->kind == K::Dict || state->kind == K::None),
                 "pickle: BUILD on a ", obj->describe(), " (only a state dict's metadata is accepted)");
        if (state->kind == K::Dict) adopt(*obj, state);
        break;
      }
      case 'Q': {
        Mut pid = pop();
        push(persistent_load(pid));
        break;
      }
      case 'q': memo_put(uint_le(1)); break;
      case 'r': memo_put(uint_le(4)); break;
      case 0x94: memo_put(memo_.size()); break;
      case 'h': memo_get(uint_le(1)); break;
      case 'j': memo_get(uint_le(4)); break;
      default:
        SV_THROW("pickle: refusing opcode 0x", std::hex, int(op), std::dec, " (", opcode_name(op), ") at offset ",
                 pos_ - 1, "; a checkpoint may hold only tensors, dicts and plain values");
    }
  }
};

}  // namespace

const PickleValue* PickleValue::get(const std::string& key) const {
  if (kind != Kind::Dict) return nullptr;
  for (const auto& e : entries)
    if (e.first->kind == Kind::String && e.first->s == key) return e.second.get();
  return nullptr;
}

std::string PickleValue::describe() const {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int:
    case Kind::BigInt: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global " + s;
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
  }
  return "?";
}

PickleRef unpickle(const uint8_t* data, size_t size, size_t* consumed) {
  return Unpickler(data, size).run(consumed);
}

}  // namespace sv::io

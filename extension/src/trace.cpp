#include "trace.hpp"

#include <cxxabi.h>
#include <execinfo.h>

#include <algorithm>
#include <cstdlib>
#include <typeinfo>

namespace family::trace {

namespace {
Stack last_throw;
const void* last_thrown = nullptr;
}  // namespace

std::string readable(const char* symbol) {
    std::string s(symbol);
    std::size_t open = s.find('('), plus = s.find('+', open), close = s.find(')', open);
    if (open == std::string::npos || close == std::string::npos) return s;
    std::string module = s.substr(0, open);
    std::size_t slash = module.rfind('/');
    if (slash != std::string::npos) module = module.substr(slash + 1);
    std::string name = s.substr(open + 1, (plus < close ? plus : close) - open - 1);
    if (name.empty()) return s.substr(0, close + 1) + "  (no symbol: a static function)";
    int status = 0;
    char* demangled = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
    if (demangled) {
        name = demangled;
        std::free(demangled);
    }
    return name + "  (" + module + ")";
}

// Never inlined, so that its own frame is always the first, and dropped.
[[gnu::noinline]] Stack capture() {
    Stack s;
    s.depth = backtrace(s.frames, Stack::kFrames) - 1;
    std::copy(s.frames + 1, s.frames + 1 + s.depth, s.frames);
    return s;
}

const Stack* thrown(const void* object) {
    return object == last_thrown ? &last_throw : nullptr;
}

std::string symbolize(const Stack& stack, int skip) {
    std::string out;
    char** symbols = backtrace_symbols(stack.frames, stack.depth);
    for (int i = skip; i < stack.depth; ++i) {
        out += "#" + std::to_string(i - skip) + " " +
               (symbols ? readable(symbols[i]) : std::string("?")) + "\n";
    }
    std::free(symbols);
    if (!out.empty()) out.pop_back();
    return out;
}

}  // namespace family::trace

// Every throw expression compiled into this library lands here first.
extern "C" {
[[noreturn]] void __real___cxa_throw(void* object, std::type_info* type, void (*destroy)(void*));

[[noreturn]] void __wrap___cxa_throw(void* object, std::type_info* type, void (*destroy)(void*)) {
    family::trace::last_throw = family::trace::capture();
    family::trace::last_thrown = object;
    __real___cxa_throw(object, type, destroy);
}
}

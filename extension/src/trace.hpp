// Stack traces for the consistency check's error reports. No PostgreSQL
// header here.
//  - capture() records the current stack (cheap: addresses only);
//  - every C++ throw from this library records its stack too: the link wraps
//    __cxa_throw (-Wl,--wrap=__cxa_throw), so the throw site is known once
//    the stack has unwound to the catch;
//  - symbolize() turns addresses into demangled function names.
#pragma once

#include <string>

namespace family::trace {

struct Stack {
    static constexpr int kFrames = 48;
    void* frames[kFrames];
    int depth = 0;
};

// The caller's stack, the caller first.
Stack capture();

// The stack of the last C++ throw from this library, if it threw `object`
// (the caught exception's address); else nullptr (thrown by a library).
const Stack* thrown(const void* object);

// One line per frame, innermost first, skipping the first `skip` frames.
std::string symbolize(const Stack& stack, int skip = 0);

// One backtrace_symbols() line made readable: "module(mangled+0x1f) [0x..]"
// becomes "demangled  (module)".
std::string readable(const char* symbol);

}  // namespace family::trace

// libFuzzer target: the request framing (src/framing.cpp) on any bytes, cut
// into two reads where the first byte says. Whatever it is fed, it hands on
// a prefix of the input, all of it unless it refused, and nothing after a
// refusal; a refusal has a 4xx status and a reason.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "framing.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::size_t cut = input.empty() ? 0 : data[0] % (input.size() + 1);
    family::web::Framer framer;
    std::string handed;
    bool refused = false;
    auto out = [&](const family::web::Framer::Piece& p) {
        if (refused) std::abort();  // nothing after a refusal
        if (p.refused) {
            refused = true;
            int status = family::web::Framer::status(p.refused);
            if (status < 400 || status > 499 || !*family::web::Framer::why(p.refused)) std::abort();
            return;
        }
        if (p.bytes.empty()) std::abort();  // no empty reads
        handed.append(p.bytes);
    };
    framer.feed(input.substr(0, cut), out);
    framer.feed(input.substr(cut), out);
    if (input.substr(0, handed.size()) != handed) std::abort();
    if (!refused && handed.size() != input.size()) std::abort();
    if (refused != framer.refused()) std::abort();
    return 0;
}

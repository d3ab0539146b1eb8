// libFuzzer target: the GEDCOM reader (extension/src/gedcom_lines.cpp and
// gedcom_reader.cpp), which reads whatever file a user uploads. Any bytes
// either read to the end or are refused as not GEDCOM, naming a line;
// nothing else may happen. What comes out is valid UTF-8 without NUL, lines
// only go forward, and every note names a line.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "gedcom_reader.hpp"

namespace {

// An independent check: well-formed UTF-8 (shortest forms, no surrogates,
// at most U+10FFFF) and no NUL.
bool clean_utf8(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == 0) return false;
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        std::uint32_t code = n == 1 ? c : c & (0xFF >> (n + 1));
        for (std::size_t k = 1; k < n; ++k) {
            unsigned char d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xC0) != 0x80) return false;
            code = (code << 6) | (d & 0x3F);
        }
        static const std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
        if (code < smallest[n] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
        i += n;
    }
    return true;
}

void must(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view file(reinterpret_cast<const char*>(data), size);
    using namespace family::gedcom;
    try {
        Reader reader(file);
        must(clean_utf8(reader.header().version) && clean_utf8(reader.header().source));
        Record record;
        int last = 0;
        while (reader.next(record)) {
            if (auto* p = std::get_if<Individual>(&record)) {
                must(p->line > last);
                last = p->line;
                for (const std::string* s : {&p->xref, &p->given, &p->surname, &p->sex.value,
                                             &p->birth.date.value, &p->birth.place.value,
                                             &p->death.date.value, &p->death.place.value})
                    must(clean_utf8(*s));
                for (const ChildOf& c : p->child_of)
                    must(!c.family.empty() && c.line > p->line && clean_utf8(c.family) &&
                         clean_utf8(c.father_rank.value) && clean_utf8(c.mother_rank.value));
            } else {
                const Family& f = std::get<Family>(record);
                must(f.line > last);
                last = f.line;
                for (const Pointer* q : {&f.husband, &f.wife})
                    must(q->xref.empty() == (q->line == 0) && clean_utf8(q->xref));
                for (const Pointer& c : f.children) must(!c.xref.empty() && c.line > f.line);
                must(clean_utf8(f.marriage.date.value) && clean_utf8(f.divorce.date.value));
            }
            for (const Note& n : reader.take_notes()) must(n.line >= 1 && clean_utf8(n.message));
        }
        for (const Note& n : reader.take_notes()) must(n.line >= 1 && clean_utf8(n.message));
    } catch (const NotGedcom& e) {
        must(e.line() >= 1 && std::string(e.what()).rfind("line ", 0) == 0);
        must(clean_utf8(e.what()));
    }
    return 0;
}

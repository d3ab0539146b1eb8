// libFuzzer target: the GEDCOM date grammar (extension/src/gedcom_date.cpp),
// which reads what clients send and what genealogy files hold. Any bytes are
// accepted or refused with a reason; nothing else may happen. What is
// accepted stays accepted in upper case, and with its spaces doubled; its
// first day, when it has one, is a day. Its GEDCOM 7 spelling is a date in
// capitals without 5.5.1's escapes, and reads back as the same date
// (exactly, unless it holds a phrase, which may come back respelled).
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "gedcom_date.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    std::optional<std::string> why = family::gedcom::date_error(text);
    if (why && why->empty()) std::abort();  // a refusal says why
    // A first day only for a date, and a real one.
    if (std::optional<family::gedcom::Day> d = family::gedcom::first_day(text)) {
        if (why || d->month < 1 || d->month > 12 || d->day < 1 || d->day > 31 || d->year < -4711 ||
            d->year > 10000)
            std::abort();
    }
    if (!why) {
        std::string upper = text, spaced;
        for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (family::gedcom::date_error(upper)) std::abort();
        // Outside a phrase, more spaces between words change nothing.
        if (text.find('(') == std::string::npos) {
            for (char c : text) spaced += c == ' ' ? std::string("  ") : std::string(1, c);
            if (spaced.size() <= 200 && family::gedcom::date_error(spaced)) std::abort();
        }
        family::gedcom::Date7 seven = family::gedcom::to_gedcom7(text);
        if (!seven.date.empty()) {
            // Ours, but for a dual year's second year past 9999 (GEDCOM 7
            // has years of any length); then the phrase brings it back.
            if (family::gedcom::date_error(seven.date) && seven.phrase.empty()) std::abort();
            for (char c : seven.date)
                if (std::islower(static_cast<unsigned char>(c)) || c == '@' || c == '/' || c == '(')
                    std::abort();
            if (seven.date.find("B.C.") != std::string::npos) std::abort();
        }
        std::string back = family::gedcom::from_gedcom7(seven.date, seven.phrase);
        if (family::gedcom::date_error(back)) std::abort();
        if (!(family::gedcom::first_day(back) == family::gedcom::first_day(text))) std::abort();
        if (text.find('(') == std::string::npos && back != text) std::abort();
    }
    return 0;
}

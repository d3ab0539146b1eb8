// GEDCOM's text layer: which charset a file is in (its BOM, else its
// HEAD.CHAR), and its lines one at a time, decoded to UTF-8 and split into
// level, cross-reference id, tag and value. Pure C++: no PostgreSQL header.
//
// It streams: a line is decoded into a buffer that the next one reuses, and a
// UTF-8 file's lines are views of the file itself. A file that breaks the
// line grammar (no HEAD first, a level that is not a number or that climbs by
// more than one, a line without a tag, an unknown charset) throws NotGedcom
// naming the line: nothing of it can be trusted.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace family::gedcom {

class NotGedcom : public std::runtime_error {
  public:
    NotGedcom(int line, const std::string& what)
        : std::runtime_error("line " + std::to_string(line) + ": " + what), line_(line) {}
    int line() const { return line_; }

  private:
    int line_;
};

// ANSI is Windows-1252, which some programs write and call so.
enum class Charset { Utf8, Utf16Le, Utf16Be, Ansel, Ascii, Ansi };
const char* charset_name(Charset c);

struct Line {
    int number = 0;         // counted from 1, blank lines included
    int level = 0;
    std::string_view xref;  // the id between the @s, empty when none
    std::string_view tag;
    std::string_view value;  // UTF-8; what follows the tag and one space
    // Bytes that are not text in the file's charset (or would be a NUL or a
    // broken UTF-16 pair) were replaced by U+FFFD.
    bool replaced = false;
};

class Lines {
  public:
    // Finds the charset; throws NotGedcom when it is unknown.
    explicit Lines(std::string_view file);
    Charset charset() const { return charset_; }
    // The next line with text in it; false after the last one. Throws
    // NotGedcom on a line that breaks the grammar. The views in `line` stay
    // valid until the next call.
    bool next(Line& line);

  private:
    bool raw_line(std::string_view& raw);  // the next physical line, undecoded
    std::string_view decode(std::string_view raw, bool& replaced);

    std::string_view file_;
    std::size_t pos_ = 0;
    Charset charset_ = Charset::Utf8;
    int number_ = 0;
    int level_ = -1;  // the previous line's
    std::string text_;  // the current line, when decoding had to copy it
};

// `s` in quotes for a message, cut after at most `most` bytes (at a
// character's start, then "...").
std::string quoted(std::string_view s, std::size_t most = 40);

// Appends the UTF-8 encoding of `code` (a Unicode scalar value).
void append_utf8(std::string& out, char32_t code);

}  // namespace family::gedcom

#include "gedcom_reader.hpp"

#include <algorithm>
#include <cctype>

#include "gedcom_date.hpp"

namespace family::gedcom {

namespace {

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::string upper(std::string_view s) {
    std::string out(trimmed(s));
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

// Runs of blanks become one space (names are written with any spacing).
std::string squeezed(std::string_view s) {
    std::string out;
    for (char c : trimmed(s)) {
        bool blank = c == ' ' || c == '\t';
        if (blank && !out.empty() && out.back() == ' ') continue;
        out += blank ? ' ' : c;
    }
    return out;
}

}  // namespace

Reader::Reader(std::string_view file) : lines_(file) {
    header_.charset = lines_.charset();
    read_header();
}

std::vector<Note> Reader::take_notes() {
    std::vector<Note> out;
    out.swap(notes_);
    return out;
}

void Reader::note(const Node& n, const std::string& message) const {
    notes_.push_back({n.line, nodes_.empty() ? std::string() : nodes_.front().xref, message});
}

void Reader::remember_last() {
    // The node just kept is the last at its level; deeper ones are closed.
    int level = nodes_.back().level;
    last_at_.resize(static_cast<std::size_t>(level) + 1, -1);
    last_at_[level] = static_cast<int>(nodes_.size()) - 1;
}

void Reader::read_record() {
    nodes_.clear();
    last_at_.clear();
    if (pending_) {
        nodes_.push_back(std::move(*pending_));
        pending_.reset();
        remember_last();
        if (nodes_.front().tag == "TRLR") return;  // the end: what follows is not read
    }
    Line line;
    int last = nodes_.empty() ? 0 : nodes_.back().line;
    while (lines_.next(line)) {
        last = line.number;
        if (line.level == 0 && !nodes_.empty()) {
            pending_ = Node{0, line.number, std::string(line.xref), std::string(line.tag),
                            std::string(line.value), line.replaced};
            return;
        }
        if (line.tag == "CONC" || line.tag == "CONT") {
            // Joined to the line it continues: the last one a level above.
            // Lines climb by one level at most: the last node one level up
            // is the last one kept at that level.
            Node* parent = line.level - 1 < static_cast<int>(last_at_.size()) &&
                                   last_at_[line.level - 1] >= 0
                               ? &nodes_[last_at_[line.level - 1]]
                               : nullptr;
            if (!parent) {
                // Under another CONT: nothing to continue.
                notes_.push_back({line.number, nodes_.front().xref,
                                  std::string(line.tag) + " continues no line: not read"});
                continue;
            }
            if (line.tag == "CONT") parent->value += '\n';
            parent->value += line.value;
            parent->replaced = parent->replaced || line.replaced;
            continue;
        }
        nodes_.push_back(Node{line.level, line.number, std::string(line.xref),
                              std::string(line.tag), std::string(line.value), line.replaced});
        remember_last();
    }
    throw NotGedcom(last, "the file ends without \"0 TRLR\": it was cut short, and nothing of it "
                          "is imported");
}

void Reader::read_header() {
    read_record();  // Lines saw to it that it is HEAD
    std::string version;
    for (std::size_t i : below(0)) {
        const Node& n = nodes_[i];
        if (n.tag == "GEDC")
            for (std::size_t j : below(i))
                if (nodes_[j].tag == "VERS") version = upper(nodes_[j].value);
        if (n.tag == "SOUR") header_.source = std::string(trimmed(n.value));
    }
    header_.version = version;
    seven_ = version.rfind("7.", 0) == 0;
    static const char* const kKnown[] = {"5.5", "5.5.1", "5.5.5"};
    bool known = seven_ || std::find(std::begin(kKnown), std::end(kKnown), version) != std::end(kKnown);
    if (version.empty())
        note(nodes_[0], "the header has no GEDC.VERS: read as GEDCOM 5.5.1");
    else if (!known)
        note(nodes_[0], "GEDCOM " + version + " is not a version this reader knows: read as 5.5.1");
}

std::vector<std::size_t> Reader::below(std::size_t at) const {
    std::vector<std::size_t> out;
    for (std::size_t i = at + 1; i < nodes_.size() && nodes_[i].level > nodes_[at].level; ++i)
        if (nodes_[i].level == nodes_[at].level + 1) out.push_back(i);
    return out;
}

std::string Reader::text(const Node& n) const {
    if (n.replaced)
        note(n, std::string("bytes that are not ") + charset_name(header_.charset) +
                    " text were read as U+FFFD");
    std::string_view v = n.value;
    if (seven_) {
        // GEDCOM 7 escapes only a leading @.
        if (v.substr(0, 2) == "@@") v.remove_prefix(1);
        return std::string(v);
    }
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        out += v[i];
        if (v[i] == '@' && i + 1 < v.size() && v[i + 1] == '@') ++i;
    }
    return out;
}

Pointer Reader::pointer(const Node& n) const {
    std::string_view v = trimmed(n.value);
    if (v.size() >= 3 && v.front() == '@' && v.back() == '@' &&
        v.find('@', 1) == v.size() - 1) {
        if (v == "@VOID@") return {};  // GEDCOM 7's null pointer
        return {std::string(v.substr(1, v.size() - 2)), n.line};
    }
    note(n, n.tag + " points to nothing: \"@ID@\" expected, not " + quoted(v));
    return {};
}

Field Reader::field(const Node& n) const {
    return {std::string(trimmed(text(n))), n.line};
}

Event Reader::event(std::size_t at) const {
    Event e;
    for (std::size_t i : below(at)) {
        const Node& n = nodes_[i];
        if (n.tag == "DATE" && !e.date) {
            e.date = field(n);
            Field phrase;
            for (std::size_t j : below(i)) {
                if (nodes_[j].tag == "TIME" && !e.time) e.time = field(nodes_[j]);
                if (nodes_[j].tag == "PHRASE" && !phrase) phrase = field(nodes_[j]);
            }
            // GEDCOM 7's date as written, or its words about the date.
            if (phrase) e.date.value = from_gedcom7(e.date.value, phrase.value);
        }
        if (n.tag == "PLAC" && !e.place) e.place = field(n);
    }
    return e;
}

Individual Reader::individual() const {
    Individual p;
    p.xref = nodes_[0].xref;
    p.line = nodes_[0].line;
    bool named = false, born = false, died = false;
    for (std::size_t i : below(0)) {
        const Node& n = nodes_[i];
        if (n.tag == "NAME" && !named) {
            named = true;
            p.name_line = n.line;
            // given /surname/ suffix: the suffix stays with the surname.
            std::string name = text(n);
            std::size_t open = name.find('/');
            if (open != std::string::npos) {
                std::size_t close = name.find('/', open + 1);
                p.given = squeezed(name.substr(0, open));
                std::string surname = name.substr(open + 1, close == std::string::npos
                                                                ? std::string::npos
                                                                : close - open - 1);
                std::string suffix = close == std::string::npos ? "" : name.substr(close + 1);
                p.surname = squeezed(surname + " " + suffix);
            } else {
                p.given = squeezed(name);
            }
            // Without the slashes, the parts may come as GIVN and SURN.
            for (std::size_t j : below(i)) {
                if (nodes_[j].tag == "GIVN" && p.given.empty()) p.given = squeezed(text(nodes_[j]));
                if (nodes_[j].tag == "SURN" && p.surname.empty() && open == std::string::npos)
                    p.surname = squeezed(text(nodes_[j]));
            }
        } else if (n.tag == "SEX" && !p.sex) {
            p.sex = {upper(text(n)), n.line};
        } else if (n.tag == "BIRT" && !born) {
            born = true;
            p.birth = event(i);
        } else if (n.tag == "DEAT" && !died) {
            died = true;
            p.death = event(i);
        } else if (n.tag == "FAMC") {
            Pointer family = pointer(n);
            if (family.xref.empty()) continue;
            ChildOf c{family.xref, n.line, "", {}, {}};
            for (std::size_t j : below(i)) {
                const Node& m = nodes_[j];
                if (m.tag == "PEDI") c.pedigree = upper(text(m));
                if (m.tag == kFatherRankTag) c.father_rank = field(m);
                if (m.tag == kMotherRankTag) c.mother_rank = field(m);
            }
            p.child_of.push_back(std::move(c));
        }
    }
    return p;
}

Family Reader::family() const {
    Family f;
    f.xref = nodes_[0].xref;
    f.line = nodes_[0].line;
    bool married = false;
    for (std::size_t i : below(0)) {
        const Node& n = nodes_[i];
        if (n.tag == "HUSB" || n.tag == "WIFE") {
            Pointer& role = n.tag == "HUSB" ? f.husband : f.wife;
            Pointer partner = pointer(n);
            if (partner.xref.empty()) continue;
            if (role.line)
                note(n, "a family has one " + n.tag + ": this one (@" + partner.xref +
                            "@) is not read");
            else
                role = partner;
        } else if (n.tag == "CHIL") {
            Pointer child = pointer(n);
            if (!child.xref.empty()) f.children.push_back(child);
        } else if (n.tag == "MARR" && !married) {
            married = true;
            f.marriage = event(i);
        } else if (n.tag == "DIV" && !f.divorced) {
            f.divorced = true;
            f.divorce = event(i);
        } else if (n.tag == kCurrentTag) {
            f.current = true;
        } else if (n.tag == kParentsOnlyTag) {
            f.parents_only = true;
        }
    }
    return f;
}

bool Reader::next(Record& record) {
    for (;;) {
        read_record();
        const Node& head = nodes_.front();
        if (head.tag == "TRLR") {
            // What follows the trailer is not read; say so once.
            Line line;
            bool more = true;
            try {
                more = lines_.next(line);
            } catch (const NotGedcom&) {  // not even GEDCOM
            }
            if (more)
                notes_.push_back({head.line, "", "the lines after \"0 TRLR\" are not read"});
            return false;
        }
        if (head.tag == "INDI") {
            record = individual();
            return true;
        }
        if (head.tag == "FAM") {
            record = family();
            return true;
        }
    }
}

}  // namespace family::gedcom

// family.import_gedcom: the plan (gedcom_plan.hpp) written in the caller's
// transaction. Persons get their ids from the table's sequence up front, so
// that children can name their parents; then, layer by layer, one INSERT of
// the persons whose parents are already in (the triggers derive each row
// once, from its stored parents) and one of the relationships whose
// partners now are, before any child of theirs. Then the import's record:
// its counts, which INDI became which person, and its issues.
#include <algorithm>
#include <cstdio>

#include "gedcom_plan.hpp"
#include "pg.hpp"
#include "rules.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "common/unicode_norm.h"
#include "mb/pg_wchar.h"
#include "utils/datetime.h"
}

namespace family::pg {
namespace {

using gedcom::Plan;
using gedcom::Text;

// `utf8` (`length` bytes) as a text in the database's encoding, through
// `conversion` (InvalidOid: that encoding is UTF-8 or SQL_ASCII, nothing to
// convert); nullptr when that encoding cannot hold it.
text* held_text(Oid conversion, const char* utf8, int length) {
    if (conversion == InvalidOid) return cstring_to_text_with_len(utf8, length);
    int room = length * MAX_CONVERSION_GROWTH + 1;
    unsigned char* out = static_cast<unsigned char*>(palloc(room));
    int done = pg_do_encoding_conversion_buf(conversion, PG_UTF8, GetDatabaseEncoding(),
                                             reinterpret_cast<unsigned char*>(const_cast<char*>(utf8)),
                                             length, out, room, true);
    return done < length ? nullptr : cstring_to_text(reinterpret_cast<char*>(out));
}

// `utf8` (valid UTF-8, `length` bytes) in Unicode's composed form (NFC), so
// that an "e" with a combining accent (as ANSEL and some programs write it)
// is stored, searched and compared as the one letter it is. A palloc'd
// string, or `utf8` itself when it is plain ASCII.
const char* composed(const char* utf8, int& length) {
    bool ascii = true;
    for (int i = 0; i < length && ascii; ++i) ascii = static_cast<unsigned char>(utf8[i]) < 0x80;
    if (ascii) return utf8;
    pg_wchar* wide = static_cast<pg_wchar*>(palloc(sizeof(pg_wchar) * (length + 1)));
    int n = 0;
    for (int i = 0; i < length; i += pg_utf_mblen(reinterpret_cast<const unsigned char*>(utf8 + i)))
        wide[n++] = utf8_to_unicode(reinterpret_cast<const unsigned char*>(utf8 + i));
    wide[n] = 0;
    pg_wchar* nfc = unicode_normalize(UNICODE_NFC, wide);
    char* out = static_cast<char*>(palloc(4 * static_cast<std::size_t>(n) + 1));
    length = 0;
    for (pg_wchar* c = nfc; *c; ++c) {
        unsigned char* at = reinterpret_cast<unsigned char*>(out + length);
        unicode_to_utf8(*c, at);
        length += pg_utf_mblen(at);
    }
    return out;
}

// The conversion from UTF-8 to the database's encoding, when that is
// another (InvalidOid: none needed).
Oid conversion_to_server() {
    int encoding = GetDatabaseEncoding();
    if (encoding == PG_UTF8 || encoding == PG_SQL_ASCII) return InvalidOid;
    return call(FindDefaultConversionProc, static_cast<int32>(PG_UTF8), static_cast<int32>(encoding));
}

// A text[] of the plan's texts (null where absent), in the database's
// encoding; composed (NFC) unless they are ids, which stay as written. With
// a conversion, a text the database's encoding cannot hold is left out
// (empty when `required`, else null) and its index added to `lost`.
Datum texts(const Plan& plan, const std::vector<Text>& values, bool compose = true,
            Oid conversion = InvalidOid, std::vector<int>* lost = nullptr, bool required = false) {
    struct Args {
        const Plan* plan;
        const Text* values;
        int n;
        bool compose;
        Oid conversion;
        std::vector<int>* lost;
        bool required;
    } args{&plan, values.data(), static_cast<int>(values.size()), compose, conversion, lost, required};
    return call(
        [](const Args* a) {
            Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * (a->n + 1)));
            bool* nulls = static_cast<bool*>(palloc(sizeof(bool) * (a->n + 1)));
            for (int i = 0; i < a->n; ++i) {
                const Text& t = a->values[i];
                nulls[i] = !t.present;
                if (nulls[i]) continue;
                int length = static_cast<int>(t.length);
                const char* utf8 = a->plan->pool.data() + t.offset;
                if (a->compose) utf8 = composed(utf8, length);
                text* held = held_text(a->conversion, utf8, length);
                if (!held) {
                    a->lost->push_back(i);
                    nulls[i] = !a->required;
                    held = cstring_to_text("");
                }
                datums[i] = PointerGetDatum(held);
            }
            int dims[1] = {a->n}, lbs[1] = {1};
            return PointerGetDatum(
                construct_md_array(datums, nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
        },
        &args);
}

// Runs `statement` with the arguments `build` makes, in a memory context
// of their own: a layer's arrays can be large.
template <typename Build>
void run_scratch(Statement& statement, Build&& build) {
    in_scratch_context([&] { statement.run(build()); });
}

// `utf8` with every character past ASCII written \uXXXX: what a message
// quoting the file becomes in a database whose encoding cannot hold it.
std::string ascii_escaped(const std::string& utf8) {
    std::string out;
    for (std::size_t i = 0; i < utf8.size();) {
        unsigned char c = static_cast<unsigned char>(utf8[i]);
        if (c < 0x80) {
            out += utf8[i++];
            continue;
        }
        int n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        char32_t code = c & (0x7F >> (n + 1));
        for (int k = 1; k < n && i + k < utf8.size(); ++k)
            code = (code << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3F);
        char hex[16];
        snprintf(hex, sizeof hex, code > 0xFFFF ? "\\U%08X" : "\\u%04X", static_cast<unsigned>(code));
        out += hex;
        i += n;
    }
    return out;
}

// Our own texts (messages, xrefs, the header's words: UTF-8) as texts in
// the database's encoding; what it cannot hold, escaped.
std::vector<Datum> held_texts(const std::vector<std::string>& values, Oid conversion) {
    std::vector<Datum> out;
    for (const std::string& v : values) {
        auto hold = [&](const std::string& s) {
            return call(held_text, conversion, s.data(), static_cast<int>(s.size()));
        };
        text* held = hold(v);
        out.push_back(PointerGetDatum(held ? held : hold(ascii_escaped(v))));
    }
    return out;
}
Datum server_texts(const std::vector<std::string>& values, Oid conversion) {
    std::vector<Datum> datums = held_texts(values, conversion);
    return call(
        [](Datum* datums, int n) {
            return PointerGetDatum(construct_array(datums, n, TEXTOID, -1, false, TYPALIGN_INT));
        },
        datums.data(), static_cast<int>(datums.size()));
}
Datum server_datum(const std::string& value, Oid conversion) {
    return held_texts({value}, conversion).front();
}

// An instant of a relationship: its day at midnight UTC plus its time;
// -infinity when the day is unknown.
int64 timestamp_of(const gedcom::Instant& i) {
    if (!i.day) return DT_NOBEGIN;
    int days = date2j(i.day->year, i.day->month, i.day->day) - POSTGRES_EPOCH_JDATE;
    return static_cast<int64>(days) * USECS_PER_DAY + i.micros;
}

// Ids for `n` new persons, from the table's own sequence.
std::vector<int64> new_ids(std::size_t n) {
    constexpr std::size_t kChunk = 100000;  // rows SPI holds at once
    static Statement next(
        "SELECT nextval(pg_get_serial_sequence('family.person', 'id')) FROM generate_series(1, $1)",
        {INT4OID});
    std::vector<int64> ids;
    ids.reserve(n);
    while (ids.size() < n) {
        uint64 got = next.run({Int32GetDatum(static_cast<int32>(std::min(kChunk, n - ids.size())))});
        for (uint64 i = 0; i < got; ++i) ids.push_back(*col_int64(i, 1));
    }
    return ids;
}

// The persons [from, to) of the plan, whose parents are in already. A
// name or place the database's encoding cannot hold is left out, with a
// warning in `issues`.
void insert_persons(const Plan& plan, const std::vector<int64>& ids, std::size_t from,
                    std::size_t to, Oid conversion, std::vector<gedcom::Issue>& issues) {
    static Statement insert(
        "INSERT INTO family.person (id, first_name, last_name, sex, birth_date, birth_place,"
        "                           death_date, death_place, father_id, father_rank, mother_id,"
        "                           mother_rank) OVERRIDING SYSTEM VALUE"
        " SELECT u.id, u.first_name, u.last_name, u.sex, u.birth_date, u.birth_place, u.death_date,"
        "        u.death_place, u.father_id, u.father_rank::int2, u.mother_id, u.mother_rank::int2"
        "   FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
        "               $7::text[], $8::text[], $9::int8[], $10::int8[], $11::int8[], $12::int8[])"
        "        AS u(id, first_name, last_name, sex, birth_date, birth_place, death_date,"
        "             death_place, father_id, father_rank, mother_id, mother_rank)",
        {INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
         TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID});
    std::vector<int64> id;
    std::vector<Text> first, last, sex, birth_date, birth_place, death_date, death_place;
    std::vector<std::optional<int64>> father, father_rank, mother, mother_rank;
    for (std::size_t i = from; i < to; ++i) {
        const gedcom::NewPerson& p = plan.persons[i];
        id.push_back(ids[i]);
        first.push_back(p.first_name);
        last.push_back(p.last_name);
        sex.push_back(p.sex);
        birth_date.push_back(p.birth_date);
        birth_place.push_back(p.birth_place);
        death_date.push_back(p.death_date);
        death_place.push_back(p.death_place);
        auto parent = [&](int index, int rank, std::vector<std::optional<int64>>& who,
                          std::vector<std::optional<int64>>& ranks) {
            who.push_back(index < 0 ? std::nullopt : std::optional<int64>(ids[index]));
            ranks.push_back(index < 0 ? std::nullopt : std::optional<int64>(rank));
        };
        parent(p.father, p.father_rank, father, father_rank);
        parent(p.mother, p.mother_rank, mother, mother_rank);
    }
    std::vector<int> lost[4];  // first name, last name, birth place, death place
    run_scratch(insert, [&] {
        return std::vector<Datum>{int64_array(id),
                                  texts(plan, first, true, conversion, &lost[0], true),
                                  texts(plan, last, true, conversion, &lost[1], true),
                                  texts(plan, sex),
                                  texts(plan, birth_date),
                                  texts(plan, birth_place, true, conversion, &lost[2]),
                                  texts(plan, death_date),
                                  texts(plan, death_place, true, conversion, &lost[3]),
                                  nullable_int64_array(father),
                                  nullable_int64_array(father_rank),
                                  nullable_int64_array(mother),
                                  nullable_int64_array(mother_rank)};
    });
    static const char* const kWhat[4] = {"the given name", "the surname", "the birth place",
                                         "the death place"};
    const std::vector<Text>* columns[4] = {&first, &last, &birth_place, &death_place};
    for (int c = 0; c < 4; ++c)
        for (int i : lost[c]) {
            const gedcom::NewPerson& p = plan.persons[from + i];
            const Text& t = (*columns[c])[i];
            issues.push_back(
                {p.line, std::string(plan.text(p.xref).value_or("")), gedcom::Severity::Warning,
                 std::string(kWhat[c]) + " " +
                     gedcom::quoted(std::string_view(plan.pool).substr(t.offset, t.length)) +
                     " cannot be written in the database's encoding (" +
                     GetDatabaseEncodingName() + "): left out"});
        }
}

// A timestamptz[] (null where absent).
Datum timestamptz_array(const std::vector<std::optional<int64>>& values) {
    return call(
        [](const std::optional<int64>* values, int n) {
            Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * (n + 1)));
            bool* nulls = static_cast<bool*>(palloc(sizeof(bool) * (n + 1)));
            for (int i = 0; i < n; ++i) {
                nulls[i] = !values[i].has_value();
                datums[i] = TimestampTzGetDatum(values[i].value_or(0));
            }
            int dims[1] = {n}, lbs[1] = {1};
            return PointerGetDatum(construct_md_array(datums, nulls, 1, dims, lbs, TIMESTAMPTZOID,
                                                      sizeof(TimestampTz), FLOAT8PASSBYVAL,
                                                      TYPALIGN_DOUBLE));
        },
        values.data(), static_cast<int>(values.size()));
}

// The relationships [from, to) of the plan, whose partners are in.
void insert_relationships(const Plan& plan, const std::vector<int64>& ids, std::size_t from,
                          std::size_t to) {
    static Statement insert(
        "INSERT INTO family.relationship (person_a, person_b, started_at, ended_at)"
        " SELECT * FROM unnest($1::int8[], $2::int8[], $3::timestamptz[], $4::timestamptz[])",
        {INT8ARRAYOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID});
    std::vector<int64> a, b;
    std::vector<std::optional<int64>> started, ended;
    for (std::size_t i = from; i < to; ++i) {
        const gedcom::NewRelationship& r = plan.relationships[i];
        a.push_back(ids[r.a]);
        b.push_back(ids[r.b]);
        started.push_back(timestamp_of(r.started));
        ended.push_back(r.ended ? std::optional<int64>(timestamp_of(*r.ended)) : std::nullopt);
    }
    run_scratch(insert, [&] {
        return std::vector<Datum>{int64_array(a), int64_array(b), timestamptz_array(started),
                                  timestamptz_array(ended)};
    });
}

// The import's record: its counts, the persons' xrefs, its issues.
int64 record(const Plan& plan, const std::vector<int64>& ids, Oid conversion) {
    static Statement import_row(
        "INSERT INTO family.gedcom_import (version, charset, source, persons, relationships,"
        "                                  parent_links, issues, individuals, links)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        {TEXTOID, TEXTOID, TEXTOID, INT4OID, INT4OID, INT4OID, INT4OID, INT4OID, INT4OID});
    static Statement xrefs(
        "INSERT INTO family.gedcom_xref (import_id, xref, person_id)"
        " SELECT $1, * FROM unnest($2::text[], $3::int8[])",
        {INT8OID, TEXTARRAYOID, INT8ARRAYOID});
    static Statement issues(
        "INSERT INTO family.gedcom_issue (import_id, line, xref, severity, message)"
        " SELECT $1, * FROM unnest($2::int4[], $3::text[], $4::text[], $5::text[])",
        {INT8OID, INT4ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID});
    auto count = [](std::size_t n) { return Int32GetDatum(static_cast<int32>(n)); };
    import_row.run({server_datum(plan.header.version, conversion),
                    server_datum(gedcom::charset_name(plan.header.charset), conversion),
                    server_datum(plan.header.source, conversion), count(plan.persons.size()),
                    count(plan.relationships.size()), count(plan.parent_links),
                    count(plan.issues.size()), count(plan.individuals), count(plan.links)});
    int64 id = *col_int64(0, 1);

    std::vector<Text> xref;
    std::vector<int64> person;
    for (std::size_t i = 0; i < plan.persons.size(); ++i)
        if (plan.persons[i].xref.present) {
            xref.push_back(plan.persons[i].xref);
            person.push_back(ids[i]);
        }
    if (!xref.empty())
        xrefs.run({Int64GetDatum(id), texts(plan, xref, false), int64_array(person)});

    if (!plan.issues.empty()) {
        std::vector<int32> line;
        std::vector<std::string> where, severity, message;
        for (const gedcom::Issue& i : plan.issues) {
            line.push_back(i.line);
            where.push_back(i.xref);
            severity.push_back(gedcom::severity_name(i.severity));
            message.push_back(i.message);
        }
        issues.run({Int64GetDatum(id), int32_array(line), server_texts(where, conversion),
                    server_texts(severity, conversion), server_texts(message, conversion)});
    }
    return id;
}

int64 import(std::string_view file, int default_rank) {
    if (!rules::rank_in_range(default_rank))
        fail("22023", "import_gedcom: default_rank must be from " +
                          std::to_string(rules::kLowestRank) + " to " +
                          std::to_string(rules::kHighestRank) + ", not " +
                          std::to_string(default_rank));
    Plan plan;
    try {
        // A cancel or statement_timeout stops the reading of a large file.
        plan = gedcom::plan_import(file, default_rank, [] { call([] { CHECK_FOR_INTERRUPTS(); }); });
    } catch (const gedcom::NotGedcom& e) {
        fail("22P02", std::string("import_gedcom: not a GEDCOM file, nothing imported: ") + e.what(),
             "A GEDCOM file starts with \"0 HEAD\" and ends with \"0 TRLR\"; each line is a "
             "level, an optional @ID@, a tag and a value.");
    }
    std::vector<int64> ids = new_ids(plan.persons.size());
    Oid conversion = conversion_to_server();
    std::vector<gedcom::Issue> lost;
    // Layer by layer: a layer's persons, then the relationships whose
    // partners are now in (a relationship's layer is its younger partner's),
    // so that the next layer's children find both.
    for (std::size_t person = 0, relationship = 0; person < plan.persons.size();) {
        int layer = plan.persons[person].layer;
        std::size_t end = person;
        while (end < plan.persons.size() && plan.persons[end].layer == layer) ++end;
        insert_persons(plan, ids, person, end, conversion, lost);
        person = end;
        end = relationship;
        while (end < plan.relationships.size() && plan.relationships[end].layer == layer) ++end;
        if (end > relationship) insert_relationships(plan, ids, relationship, end);
        relationship = end;
    }
    if (!lost.empty()) {
        plan.issues.insert(plan.issues.end(), lost.begin(), lost.end());
        std::stable_sort(plan.issues.begin(), plan.issues.end(),
                         [](const gedcom::Issue& x, const gedcom::Issue& y) { return x.line < y.line; });
    }
    return record(plan, ids, conversion);
}

}  // namespace
}  // namespace family::pg

using namespace family::pg;

extern "C" {
PG_FUNCTION_INFO_V1(family_import_gedcom);

Datum family_import_gedcom(PG_FUNCTION_ARGS) {
    // Read (detoasted) before any C++ frame owns anything.
    bytea* file = PG_ARGISNULL(0) ? nullptr : PG_GETARG_BYTEA_PP(0);
    bool no_rank = PG_ARGISNULL(1);
    int32 default_rank = no_rank ? 0 : PG_GETARG_INT32(1);
    return entry([&] {
        if (!file || no_rank) fail("22023", "import_gedcom: gedcom and default_rank must not be null");
        Spi spi;
        int64 id = import({VARDATA_ANY(file), VARSIZE_ANY_EXHDR(file)}, default_rank);
        spi.finish();
        return Int64GetDatum(id);
    });
}
}

// family.export_gedcom(person, depth, withhold): GEDCOM 7.0 (gedcom_writer.hpp)
// of everyone, or of a person's ancestors and descendants within `depth`
// generations with their partners, as the calling query sees them. Rows
// come through a cursor, a chunk at a time; the writer keeps each person
// in a few dozen bytes plus their texts.
#include <algorithm>

#include "gedcom_writer.hpp"
#include "pg.hpp"

extern "C" {
#include "utils/datetime.h"
#include "utils/memutils.h"
}

namespace family::pg {
namespace {

constexpr int kTexts = 7;  // first_name ... death_place, columns 2 to 8
constexpr long kChunk = 10000;

// A person's row as the cursor gave it, read without owning anything.
struct RowView {
    int64 id, parent[2];
    int rank[2];
    bool has_parent[2];
    const char* text[kTexts];
    int length[kTexts];
    bool null[kTexts];
};

// Columns: id, first_name, last_name, sex, birth_date, birth_place,
// death_date, death_place, father_id, mother_id, father_rank, mother_rank.
#define PERSON_COLUMNS                                                                        \
    "p.id, p.first_name, p.last_name, p.sex, p.birth_date, p.birth_place, p.death_date,"     \
    " p.death_place, p.father_id, p.mother_id, p.father_rank::int4, p.mother_rank::int4"

// The rows of the current SPI_tuptable into `out` (as many as it holds).
void read_persons(RowView* out) {
    TupleDesc desc = SPI_tuptable->tupdesc;
    for (uint64 r = 0; r < SPI_processed; ++r) {
        HeapTuple tuple = SPI_tuptable->vals[r];
        RowView& v = out[r];
        bool isnull;
        v.id = DatumGetInt64(SPI_getbinval(tuple, desc, 1, &isnull));
        for (int k = 0; k < kTexts; ++k) {
            Datum d = SPI_getbinval(tuple, desc, 2 + k, &v.null[k]);
            if (v.null[k]) continue;
            text* t = DatumGetTextPP(d);
            v.text[k] = VARDATA_ANY(t);
            v.length[k] = static_cast<int>(VARSIZE_ANY_EXHDR(t));
        }
        for (int k = 0; k < 2; ++k) {
            Datum parent = SPI_getbinval(tuple, desc, 9 + k, &isnull);
            v.has_parent[k] = !isnull;
            v.parent[k] = isnull ? 0 : DatumGetInt64(parent);
            Datum rank = SPI_getbinval(tuple, desc, 11 + k, &isnull);
            v.rank[k] = isnull ? 0 : DatumGetInt32(rank);
        }
    }
}

gedcom::Moment moment(TimestampTz t) {
    using Kind = gedcom::Moment::Kind;
    if (TIMESTAMP_IS_NOBEGIN(t)) return {Kind::MinusInfinity};
    if (TIMESTAMP_IS_NOEND(t)) return {Kind::PlusInfinity};
    int64 days = t / USECS_PER_DAY;
    if (t % USECS_PER_DAY < 0) --days;
    int year, month, day;
    j2date(static_cast<int>(days + POSTGRES_EPOCH_JDATE), &year, &month, &day);
    return {Kind::Finite, {year, month, day}, t - days * USECS_PER_DAY};
}

// Opens a read-only cursor on `sql` with int8/int4/int8[] arguments, on
// the calling query's snapshot.
Portal open_cursor(const char* sql, int nargs, Oid* types, Datum* values, const char* nulls) {
    return SPI_cursor_open_with_args(nullptr, sql, nargs, types, values, nulls, true, 0);
}

// Every row of the cursor, a chunk at a time: `each` sees SPI_tuptable.
template <typename Each>
void fetch_all(Portal portal, Each&& each) {
    for (;;) {
        call(SPI_cursor_fetch, portal, true, kChunk);
        if (SPI_processed == 0) break;
        each();
        call(SPI_freetuptable, SPI_tuptable);
    }
    call(SPI_cursor_close, portal);
}

// The file as pieces (a file of 150 MiB is never held twice whole).
std::vector<std::string> export_gedcom(std::optional<int64> person, std::optional<int32> depth,
                                       std::vector<int64> withhold) {
    if (depth && !person) fail("22023", "export_gedcom: a depth needs a person");
    if (depth && *depth < 0)
        fail("22023", "export_gedcom: depth must be 0 or more, not " + std::to_string(*depth));
    std::sort(withhold.begin(), withhold.end());
    if (person) {
        static Statement exists("SELECT 1 FROM family.person WHERE id = $1", {INT8OID});
        if (exists.run({Int64GetDatum(*person)}, Statement::Reads::Stable) == 0)
            fail("23503", "export_gedcom: person " + std::to_string(*person) + " does not exist");
    }
    static Statement version("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'family'",
                             {});
    version.run({}, Statement::Reads::Stable);
    std::string extension_version = col_text(0, 1);

    gedcom::Writer writer;
    std::size_t persons_written = 0;
    std::vector<int64> kept;  // the persons written, by id
    Oid types[2] = {INT8OID, INT4OID};
    Datum args[2] = {Int64GetDatum(person.value_or(0)), Int32GetDatum(depth.value_or(0))};
    char nulls[3] = {' ', depth ? ' ' : 'n', '\0'};
    Portal persons = call(
        open_cursor,
        person ? "WITH line AS (SELECT $1 AS id"
                 "              UNION SELECT a.person_id FROM family.ancestors($1, $2) AS a"
                 "              UNION SELECT d.person_id FROM family.descendants($1, $2) AS d),"
                 "     kept AS (SELECT id FROM line"
                 "              UNION SELECT r.person_b FROM line JOIN family.relationship AS r"
                 "                                              ON r.person_a = line.id"
                 "              UNION SELECT r.person_a FROM line JOIN family.relationship AS r"
                 "                                              ON r.person_b = line.id)"
                 " SELECT " PERSON_COLUMNS " FROM family.person AS p JOIN kept AS k ON k.id = p.id"
                 " ORDER BY p.id"
               : "SELECT " PERSON_COLUMNS " FROM family.person AS p ORDER BY p.id",
        person ? 2 : 0, types, args, static_cast<const char*>(nulls));
    std::vector<RowView> rows(kChunk);
    fetch_all(persons, [&] {
        call(read_persons, rows.data());
        for (uint64 r = 0; r < SPI_processed; ++r) {
            const RowView& v = rows[r];
            auto text = [&](int k) -> std::optional<std::string_view> {
                if (v.null[k]) return std::nullopt;
                return std::string_view(v.text[k], static_cast<std::size_t>(v.length[k]));
            };
            writer.person({v.id, *text(0), *text(1), text(2), text(3), text(4), text(5), text(6),
                           v.parent[0], v.parent[1], v.rank[0], v.rank[1],
                           std::binary_search(withhold.begin(), withhold.end(), v.id)});
            ++persons_written;
            if (person) kept.push_back(v.id);
        }
        call([] { CHECK_FOR_INTERRUPTS(); });
    });

    // Relationships: all of them, or those of the persons kept (the writer
    // leaves out those whose other partner is not).
    Oid array_type[1] = {INT8ARRAYOID};
    Datum kept_array[1] = {person ? int64_array(kept) : Datum(0)};
    Portal relationships = call(
        open_cursor,
        person ? "SELECT r.person_a, r.person_b, r.started_at, r.ended_at FROM family.relationship AS r"
                 " WHERE r.person_a IN (SELECT unnest($1::int8[])) ORDER BY r.id"
               : "SELECT r.person_a, r.person_b, r.started_at, r.ended_at FROM family.relationship AS r"
                 " ORDER BY r.id",
        person ? 1 : 0, array_type, kept_array, static_cast<const char*>(nullptr));
    fetch_all(relationships, [&] {
        for (uint64 r = 0; r < SPI_processed; ++r) {
            gedcom::RelationshipRow row{*col_int64(r, 1), *col_int64(r, 2), {}, std::nullopt};
            bool isnull;
            row.started = moment(DatumGetTimestampTz(
                SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 3, &isnull)));
            Datum ended = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 4, &isnull);
            if (!isnull) row.ended = moment(DatumGetTimestampTz(ended));
            writer.relationship(row);
        }
    });
    std::vector<std::string> pieces;
    std::size_t size = 0;
    writer.write(
        extension_version,
        [&](std::string_view piece) {
            size += piece.size();
            pieces.emplace_back(piece);
        },
        [] { call([] { CHECK_FOR_INTERRUPTS(); }); });
    if (size > MaxAllocSize - VARHDRSZ)  // LCOV_EXCL_START: millions of persons, not in tests
        fail("54000", "export_gedcom: the file of " + std::to_string(persons_written) +
                          " persons would take " + std::to_string(size) +
                          " bytes, more than a text holds (1 GB)",
             "Export a part: export_gedcom(person, depth).");  // LCOV_EXCL_STOP
    return pieces;
}

}  // namespace
}  // namespace family::pg

using namespace family::pg;

extern "C" {
PG_FUNCTION_INFO_V1(family_export_gedcom);

Datum family_export_gedcom(PG_FUNCTION_ARGS) {
    ArrayType* withhold = PG_ARGISNULL(2) ? nullptr : PG_GETARG_ARRAYTYPE_P(2);
    return entry([&] {
        std::optional<int64> person;
        std::optional<int32> depth;
        if (!PG_ARGISNULL(0)) person = PG_GETARG_INT64(0);
        if (!PG_ARGISNULL(1)) depth = PG_GETARG_INT32(1);
        std::vector<int64> hidden;
        if (withhold) {
            Datum* elems = nullptr;
            bool* nulls = nullptr;
            int n = 0;
            call(
                [](ArrayType* a, Datum** e, bool** z, int* k) {
                    deconstruct_array(a, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, e, z, k);
                },
                withhold, &elems, &nulls, &n);
            for (int i = 0; i < n; ++i)
                if (!nulls[i]) hidden.push_back(DatumGetInt64(elems[i]));
        }
        Spi spi;
        std::vector<std::string> pieces = export_gedcom(person, depth, std::move(hidden));
        spi.finish();
        std::size_t size = 0;
        for (const std::string& p : pieces) size += p.size();
        text* file = call([](std::size_t n) { return static_cast<text*>(palloc(n + VARHDRSZ)); }, size);
        SET_VARSIZE(file, size + VARHDRSZ);
        char* at = VARDATA(file);
        for (std::string& p : pieces) {  // each piece freed once copied
            at = std::copy(p.begin(), p.end(), at);
            std::string().swap(p);
        }
        return PointerGetDatum(file);
    });
}
}

// family.kinship(a, b): how b is related to a by blood (SPEC 5 and 5a), the
// walk of kinship.hpp over the persons as the calling query sees them,
// through the primary key (no query, no plan).
#include "kinship.hpp"
#include "pg.hpp"

namespace family::pg {
namespace {

using kinship::PersonId;

class People {
  public:
    People()
        : scanner_("person"),
          father_(column(scanner_.table(), "father_id")),
          mother_(column(scanner_.table(), "mother_id")),
          generation_(column(scanner_.table(), "generation")),
          sex_(column(scanner_.table(), "sex")),
          pk_(scanner_.primary_key()) {}

    struct Row {
        bool found = false;
        kinship::Person person;
        kinship::Sex sex = kinship::Sex::Unknown;
    };
    Row get(PersonId id) {
        Read r{this, {}};
        scanner_.scan(pk_, {id}, {read, &r});
        if (!r.row.found) fail("23503", "kinship: person " + std::to_string(id) + " does not exist");
        return r.row;
    }
    void finish() { scanner_.finish(); }

  private:
    struct Read {
        const People* p;
        Row row;
    };
    static bool read(TupleTableSlot* slot, void* arg) {
        Read& r = *static_cast<Read*>(arg);
        const People& p = *r.p;
        bool isnull = false;
        r.row.found = true;
        for (auto [col, out] : {std::pair{p.father_, &r.row.person.father},
                                std::pair{p.mother_, &r.row.person.mother}}) {
            Datum d = slot_getattr(slot, col, &isnull);
            if (!isnull) *out = DatumGetInt64(d);
        }
        r.row.person.generation = DatumGetInt32(slot_getattr(slot, p.generation_, &isnull));
        Datum sex = slot_getattr(slot, p.sex_, &isnull);
        // 'M', 'F' or 'X' (a CHECK constraint): one byte, never toasted.
        if (!isnull && VARSIZE_ANY_EXHDR(DatumGetPointer(sex)) == 1) {
            char c = *VARDATA_ANY(DatumGetPointer(sex));
            r.row.sex = c == 'M' ? kinship::Sex::Male
                        : c == 'F' ? kinship::Sex::Female
                                   : kinship::Sex::Unknown;
        }
        return false;
    }

    Scanner scanner_;
    int father_, mother_, generation_, sex_;
    Oid pk_;
};

struct KinRow {
    int64 ancestor;
    int up, down;
    std::string term;
};

std::vector<KinRow> kinship_of(PersonId a, PersonId b) {
    People people;
    kinship::Person a_person = people.get(a).person;
    People::Row b_row = people.get(b);
    std::vector<kinship::Relation> found = kinship::nearest_common_ancestors(
        a, b, [&](PersonId id) { return people.get(id).person; });
    people.finish();
    // Siblings are half-siblings unless both their parents are known and
    // the same (counting the rows would not do: a parent who is also the
    // other parent's ancestor is no nearest common ancestor).
    const kinship::Person& b_person = b_row.person;
    bool full = a_person.father && a_person.mother && a_person.father == b_person.father &&
                a_person.mother == b_person.mother;
    std::vector<KinRow> out;
    for (const kinship::Relation& r : found)
        out.push_back({r.ancestor, r.up, r.down, kinship::term(r.up, r.down, b_row.sex, !full)});
    return out;
}

}  // namespace
}  // namespace family::pg

using namespace family::pg;

extern "C" {
PG_FUNCTION_INFO_V1(family_kinship);

Datum family_kinship(PG_FUNCTION_ARGS) {
    return entry([&] {
        if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) fail("22023", "kinship: a and b must not be null");
        int64 a = PG_GETARG_INT64(0), b = PG_GETARG_INT64(1);
        call(InitMaterializedSRF, fcinfo, static_cast<bits32>(0));
        std::vector<KinRow> rows = kinship_of(a, b);
        call(
            [](ReturnSetInfo* rsinfo, const KinRow* rows, std::size_t n) {
                for (std::size_t i = 0; i < n; ++i) {
                    Datum values[4] = {
                        Int64GetDatum(rows[i].ancestor), Int32GetDatum(rows[i].up),
                        Int32GetDatum(rows[i].down),
                        PointerGetDatum(cstring_to_text_with_len(
                            rows[i].term.data(), static_cast<int>(rows[i].term.size())))};
                    bool nulls[4] = {false, false, false, false};
                    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
                }
            },
            reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo), rows.data(), rows.size());
        return Datum(0);
    });
}
}

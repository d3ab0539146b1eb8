// The names of blood relations (SPEC 5a), written out by hand.
#include <boost/test/unit_test.hpp>

#include "kinship.hpp"

using family::kinship::ordinal;
using family::kinship::Sex;
using family::kinship::term;

BOOST_AUTO_TEST_CASE(kinship_terms_in_a_line) {
    BOOST_TEST(term(0, 0, Sex::Female) == "self");
    BOOST_TEST(term(0, 1, Sex::Unknown) == "child");
    BOOST_TEST(term(0, 1, Sex::Male) == "son");
    BOOST_TEST(term(0, 2, Sex::Female) == "granddaughter");
    BOOST_TEST(term(0, 3, Sex::Unknown) == "great-grandchild");
    BOOST_TEST(term(0, 4, Sex::Male) == "2nd great-grandson");
    BOOST_TEST(term(0, 5, Sex::Unknown) == "3rd great-grandchild");
    BOOST_TEST(term(1, 0, Sex::Unknown) == "parent");
    BOOST_TEST(term(1, 0, Sex::Female) == "mother");
    BOOST_TEST(term(2, 0, Sex::Male) == "grandfather");
    BOOST_TEST(term(3, 0, Sex::Unknown) == "great-grandparent");
    BOOST_TEST(term(4, 0, Sex::Female) == "2nd great-grandmother");
    BOOST_TEST(term(13, 0, Sex::Unknown) == "11th great-grandparent");
}

BOOST_AUTO_TEST_CASE(kinship_terms_to_the_side) {
    BOOST_TEST(term(1, 1, Sex::Unknown) == "sibling");
    BOOST_TEST(term(1, 1, Sex::Male) == "brother");
    BOOST_TEST(term(1, 1, Sex::Female, true) == "half-sister");
    BOOST_TEST(term(1, 1, Sex::Unknown, true) == "half-sibling");
    BOOST_TEST(term(1, 2, Sex::Male) == "nephew");
    BOOST_TEST(term(1, 2, Sex::Unknown) == "nephew or niece");
    BOOST_TEST(term(1, 3, Sex::Female) == "grandniece");
    BOOST_TEST(term(1, 4, Sex::Male) == "great-grandnephew");
    BOOST_TEST(term(1, 5, Sex::Female) == "2nd great-grandniece");
    BOOST_TEST(term(2, 1, Sex::Female) == "aunt");
    BOOST_TEST(term(2, 1, Sex::Unknown) == "uncle or aunt");
    BOOST_TEST(term(3, 1, Sex::Male) == "granduncle");
    BOOST_TEST(term(4, 1, Sex::Female) == "great-grandaunt");
    BOOST_TEST(term(6, 1, Sex::Male) == "3rd great-granduncle");
}

BOOST_AUTO_TEST_CASE(kinship_cousins) {
    BOOST_TEST(term(2, 2, Sex::Male) == "first cousin");
    BOOST_TEST(term(3, 2, Sex::Female) == "first cousin once removed");
    BOOST_TEST(term(2, 3, Sex::Unknown) == "first cousin once removed");
    BOOST_TEST(term(3, 4, Sex::Unknown) == "second cousin once removed");
    BOOST_TEST(term(4, 6, Sex::Unknown) == "third cousin twice removed");
    BOOST_TEST(term(2, 5, Sex::Unknown) == "first cousin 3 times removed");
    BOOST_TEST(term(11, 11, Sex::Unknown) == "tenth cousin");
    BOOST_TEST(term(12, 14, Sex::Unknown) == "11th cousin twice removed");
    BOOST_TEST(term(22, 22, Sex::Unknown) == "21st cousin");
}

BOOST_AUTO_TEST_CASE(kinship_ordinals) {
    std::string all;
    for (int n : {1, 2, 3, 4, 10, 11, 12, 13, 21, 22, 23, 101, 111, 112})
        all += ordinal(n) + " ";
    BOOST_TEST(all == "1st 2nd 3rd 4th 10th 11th 12th 13th 21st 22nd 23rd 101st 111th 112th ");
}

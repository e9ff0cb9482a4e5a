#include "storage/volume_id.hpp"

#include <gtest/gtest.h>

#include <set>

namespace seed::storage {
namespace {

TEST(VolumeId, EncodesAndDecodesBack) {
  VolumeId id{"team-a", "web", "data"};
  auto name = encode(id);
  ASSERT_TRUE(name.ok()) << name.error().describe();
  EXPECT_EQ(*name, "seed.team-a.web.data");
  auto back = decode(*name);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, id);
}

TEST(VolumeId, DistinctIdentitiesNeverShareAName) {
  // Identities that naive joining with '-' or '_' would merge.
  std::vector<VolumeId> ids = {{"a-b", "c", "d"}, {"a", "b-c", "d"}, {"a", "b", "c-d"},
                               {"ab", "c", "d"},  {"a", "bc", "d"},  {"a", "b", "cd"}};
  std::set<std::string> names;
  for (const auto& id : ids) names.insert(*encode(id));
  EXPECT_EQ(names.size(), ids.size());
}

TEST(VolumeId, RejectsPathTricksSpacesUnicodeAndCase) {
  struct Case {
    VolumeId id;
    const char* field;
    const char* why;
  };
  for (const Case& c : std::vector<Case>{
           {{"ns", "web", "a/b"}, "volume", "'/'"},
           {{"ns", "web", ".."}, "volume", "'.'"},
           {{"..", "web", "data"}, "namespace", "'.'"},
           {{"ns", "we b", "data"}, "instance", "whitespace"},
           {{"ns", "web", "d\xc3\xa4ta"}, "volume", "non-ASCII"},
           {{"ns", "Web", "data"}, "instance", "upper-case"},
           {{"ns", "web", ""}, "volume", "empty"},
           {{"ns", "-web", "data"}, "instance", "'-'"},
           {{"ns", "web", "data_1"}, "volume", "'_'"},
           {{"ns", "web", std::string(64, 'a')}, "volume", "63"},
       }) {
    auto r = encode(c.id);
    ASSERT_FALSE(r.ok()) << c.id.display();
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_NE(r.error().message.find(std::string("invalid ") + c.field + " name"),
              std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find(c.why), std::string::npos) << r.error().message;
  }
}

TEST(VolumeId, RejectsIdentitiesTooLongForAnLvName) {
  VolumeId id{std::string(60, 'a'), std::string(60, 'b'), "data"};
  auto r = encode(id);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("too long"), std::string::npos);
}

TEST(VolumeId, DecodeRejectsForeignNames) {
  for (const char* name : {"data", "seed.a.b", "seed.a.b.c.d", "seed..b.c", "seed.a.B.c",
                           "other.a.b.c", "seed.a.b.c/../x"}) {
    EXPECT_FALSE(decode(name).ok()) << name;
  }
}

TEST(VolumeId, TagNamesInstanceAndVolume) {
  Error e = tag(make_error(Errc::io, "boom"), {"ns", "web", "data"});
  EXPECT_EQ(e.get("volume").value_or(""), "ns/web/data");
  EXPECT_EQ(e.get("instance").value_or(""), "ns/web");
}

}  // namespace
}  // namespace seed::storage

// Drives the real @contentstack/personalize-edge-sdk (package.json pins it) against this service and prints
// what the SDK saw as one JSON line; tests/test_contentstack_edge.py checks it and the stored profile.
// Usage: node contentstack_edge_sdk.js <base URL> <project uid>
"use strict";
const Personalize = require("@contentstack/personalize-edge-sdk");

async function main() {
  const [base, project] = process.argv.slice(2);
  Personalize.setEdgeApiUrl(base);
  const seen = {};

  const anonymous = await Personalize.init(project); // no user: the service mints one, the SDK adopts it
  seen.minted = anonymous.getUserId();
  seen.anonymous = anonymous.getExperiences();
  await anonymous.set({ plan: "gold" });
  await anonymous.triggerEvent("clickCTA");
  await anonymous.triggerImpressions({ experienceShortUids: ["2"] });

  const again = await Personalize.init(project, { userId: seen.minted });
  seen.again = again.getExperiences();
  seen.tagged = (await Personalize.init(project, { userId: seen.minted, tags: ["CHECKOUT"] })).getExperiences();

  seen.knownBefore = (await Personalize.init(project, { userId: "known-1" })).getExperiences();
  await again.setUserId("known-1", { preserveUserAttributes: true }); // log-in: merge the anonymous user in
  seen.knownAfter = (await Personalize.init(project, { userId: "known-1" })).getExperiences();

  try {
    await Personalize.init("no-such-project");
    seen.unknownProject = "no error";
  } catch (error) {
    seen.unknownProject = String(error && error.message ? error.message : error);
  }
  process.stdout.write(JSON.stringify(seen) + "\n");
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(1);
});

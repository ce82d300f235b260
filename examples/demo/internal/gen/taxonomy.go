package main

// A label of the demo taxonomy. Frags are the hand-written phrase fragments
// the generator combines into queries; each starts with its slot:
//
//	C: a context clause ("it's raining", "just finished my workout")
//	W: a thing wanted ("something warm", "a snack")
//	S: a suffix that qualifies the request ("for dinner", "at 2am")
type label struct {
	Name  string
	Group string
	Desc  string
	Frags []string
}

// taxonomy lists every label the demo data may carry, in table order.
var taxonomy = []label{
	{"emotion_sad", "emotion", "feeling down, heartbroken, having a bad day", []string{
		"C:i'm feeling really down", "C:kinda sad today", "C:feeling blue", "C:had the worst day",
		"C:just got dumped", "C:i'm so sad rn", "C:feeling low and mopey", "C:been crying all afternoon",
		"C:everything feels gray today", "C:bad news at work and i'm bummed out"}},
	{"emotion_happy", "emotion", "in a good mood, cheerful", []string{
		"C:i'm in a great mood", "C:feeling amazing today", "C:so happy rn", "C:life is good today",
		"C:woke up super cheerful", "C:in a really good mood", "C:feeling happy and chill", "C:good vibes only today"}},
	{"emotion_stressed", "emotion", "under pressure, overwhelmed", []string{
		"C:i'm super stressed", "C:work has me stressed out", "C:deadline tomorrow and i'm freaking out",
		"C:so overwhelmed rn", "C:stressed af", "C:too much on my plate today", "C:my brain is fried from stress",
		"C:crazy stressful week"}},
	{"emotion_tired", "emotion", "exhausted, sleepy, drained", []string{
		"C:i'm exhausted", "C:so tired i can barely think", "C:running on 4 hours of sleep", "C:dead tired",
		"C:totally wiped out", "C:long day, zero energy left", "C:sleepy and cranky", "C:i'm beat"}},
	{"emotion_bored", "emotion", "bored, wants something different", []string{
		"C:i'm bored", "C:so bored rn", "C:nothing to do today", "C:bored out of my mind",
		"C:sick of eating the same thing", "C:bored of my usual food", "C:meh, bored", "C:lazy day and bored"}},
	{"emotion_anxious", "emotion", "nervous, worried, on edge", []string{
		"C:feeling anxious", "C:my anxiety is through the roof", "C:nervous about tomorrow",
		"C:a bit on edge today", "C:jittery and anxious", "C:big interview tomorrow and i'm nervous",
		"C:can't calm down", "C:worried about everything"}},
	{"emotion_celebratory", "emotion", "celebrating a win, birthday, anniversary", []string{
		"C:just got promoted!!", "C:we're celebrating tonight", "C:i passed my exam!", "C:it's my birthday",
		"C:got the job 🎉", "C:celebrating our anniversary", "C:finally finished my thesis",
		"C:big win today, time to celebrate"}},
	{"emotion_lonely", "emotion", "alone and missing company", []string{
		"C:feeling lonely", "C:home alone and kinda lonely", "C:everyone's away this weekend",
		"C:missing my friends", "C:nobody to hang out with tonight", "C:feel a bit isolated lately",
		"C:lonely night in", "C:just moved to a new city and don't know anyone"}},

	{"goal_comfort", "goal", "comfort food, cozy, soothing", []string{
		"W:some comfort food", "W:something cozy and comforting", "W:a hug in a bowl",
		"W:something that feels like home", "W:classic comfort food", "W:something soothing",
		"W:feel-good food", "W:something my mom would make"}},
	{"goal_healthy", "goal", "nutritious, balanced, good for you", []string{
		"W:something healthy", "W:a healthy option", "W:something nutritious", "W:clean eating ideas",
		"W:something with lots of veggies", "W:low calorie but filling food", "W:something good for me",
		"W:a balanced meal"}},
	{"goal_energy", "goal", "an energy boost, fuel", []string{
		"W:something to give me energy", "W:an energy boost", "W:food that keeps me going",
		"W:something to wake me up", "W:fuel for the afternoon", "W:something with lasting energy",
		"W:a pick-me-up", "W:brain fuel"}},
	{"goal_quick", "goal", "fast, little or no effort", []string{
		"W:something quick", "W:fast food ideas", "W:something i can make in 10 minutes", "W:no-effort food",
		"W:something fast and easy", "W:a quick bite", "W:something with no cooking", "W:super easy food"}},
	{"goal_indulgent", "goal", "a treat, decadent, cheat meal", []string{
		"W:something indulgent", "W:a total cheat meal", "W:something greasy and decadent", "W:junk food",
		"W:something rich and over the top", "W:treat yo self food", "W:something sinful",
		"W:the most decadent thing possible"}},
	{"goal_light", "goal", "light, not heavy or filling", []string{
		"W:something light", "W:a light bite", "W:nothing too heavy", "W:something not too filling",
		"W:a light meal", "W:something small and light", "W:something easy on the stomach", "W:a light option"}},

	{"meal_breakfast", "meal", "breakfast or brunch", []string{
		"S:for breakfast", "S:for brekkie", "S:to start my morning", "W:breakfast ideas", "S:this morning",
		"C:just woke up", "W:a good breakfast", "S:before my 8am"}},
	{"meal_lunch", "meal", "lunch, midday meal", []string{
		"S:for lunch", "W:lunch ideas", "S:on my lunch break", "S:for a midday meal", "W:a lunch",
		"S:around noon", "W:something for lunch", "S:for lunch today"}},
	{"meal_dinner", "meal", "dinner, supper", []string{
		"S:for dinner", "S:tonight for dinner", "W:dinner ideas", "S:for supper", "W:a proper dinner",
		"S:for dinner tonight", "W:what to cook for dinner", "S:for tonight's dinner"}},
	{"meal_snack", "meal", "a snack between meals", []string{
		"W:a snack", "W:a little snack", "W:something to munch on", "W:snack ideas", "W:something to nibble",
		"S:as a snack", "W:a small bite between meals", "W:snacks"}},
	{"meal_dessert", "meal", "dessert after a meal", []string{
		"W:dessert", "W:a dessert", "S:for dessert", "W:something for after dinner, like dessert",
		"W:dessert ideas", "W:pudding or cake or whatever", "W:a dessert to share", "S:as dessert"}},
	{"meal_late_night", "meal", "late night, after midnight", []string{
		"S:at 2am", "S:at midnight", "S:this late at night", "C:it's 1am", "W:a late night bite",
		"W:midnight munchies", "S:late night", "C:can't sleep and it's past midnight"}},

	{"occasion_date", "occasion", "a date, romantic meal", []string{
		"C:i have a date tonight", "C:cooking for my date", "S:for a date night", "C:first date coming up",
		"S:for a romantic dinner", "C:my gf is coming over", "C:bf coming over tonight", "S:to impress my date"}},
	{"occasion_party", "occasion", "hosting or going to a party, feeding a crowd", []string{
		"C:hosting a party", "S:for a party", "C:having friends over for a party", "S:for a crowd of 15",
		"C:throwing a bday party", "W:party food", "S:for a potluck", "W:finger food for a party"}},
	{"occasion_family", "occasion", "feeding the family, kids, parents", []string{
		"S:for the whole family", "C:cooking for my family", "C:kids are hungry", "S:that my kids will eat",
		"C:family dinner this sunday", "S:for a family of 5", "C:parents are visiting",
		"S:everyone in the family will like"}},
	{"occasion_solo", "occasion", "eating alone, a single portion", []string{
		"C:eating alone tonight", "S:just for me", "S:for one person", "C:solo dinner tonight",
		"C:cooking for one", "S:in a single serving", "C:just me tonight", "S:for myself"}},
	{"occasion_work", "occasion", "at work, at the office, with colleagues", []string{
		"C:at the office", "S:to eat at my desk", "C:work lunch meeting", "S:for a work potluck",
		"S:to bring to work", "C:stuck at work", "S:for the team at work", "C:in back-to-back meetings"}},

	{"temperature_warm", "temperature", "wants warm or hot food", []string{
		"W:something warm", "W:something hot", "W:a warm meal", "W:hot food", "W:something steaming hot",
		"W:something to warm me up", "W:warm and toasty food", "W:a hot bowl of something"}},
	{"temperature_cold", "temperature", "wants cold, chilled or frozen food", []string{
		"W:something cold", "W:something icy", "W:a cold dish", "W:something chilled",
		"W:something refreshing and cold", "W:frozen treats", "W:something cool", "W:cold food"}},

	{"weather_rainy", "weather", "rain, storm", []string{
		"C:it's raining", "C:it's pouring outside", "C:rainy day here", "C:raining cats and dogs",
		"C:stormy and wet outside", "C:drizzly gross weather", "C:rain all day", "C:thunderstorm outside"}},
	{"weather_hot", "weather", "hot weather, heat wave", []string{
		"C:it's so hot outside", "C:heat wave here", "C:it's 38 degrees", "C:boiling hot day",
		"C:summer heat is brutal", "C:sweating buckets", "C:scorching out today", "C:too hot to cook"}},
	{"weather_cold", "weather", "cold, chilly, freezing weather", []string{
		"C:it's freezing outside", "C:so cold today", "C:chilly weather", "C:it's like -10 out",
		"C:cold and windy", "C:frosty morning", "C:winter chill", "C:brr it's cold"}},
	{"weather_snowy", "weather", "snow, blizzard, snowed in", []string{
		"C:it's snowing", "C:snowed in", "C:huge snowstorm outside", "C:snow day!", "C:blizzard outside",
		"C:snow everywhere", "C:first snow of the year", "C:stuck inside bc of snow"}},
	{"weather_sunny", "weather", "sunny, nice weather", []string{
		"C:it's sunny out", "C:beautiful sunny day", "C:sun is shining", "C:gorgeous weather",
		"C:perfect sunny afternoon", "C:blue skies today", "C:nice sunny weather", "C:sunny and bright out"}},

	{"sensory_spicy", "sensory", "spicy, chili, heat", []string{
		"W:something spicy", "W:something with a kick", "W:something fiery", "W:extra spicy food",
		"W:something with chili", "W:spicy food", "W:something that makes me sweat", "W:something with jalapenos"}},
	{"sensory_sweet", "sensory", "sweet, sugary, chocolate", []string{
		"W:something sweet", "W:a sugary treat", "W:sweet stuff", "W:something with chocolate",
		"W:candy-ish stuff", "W:something sugary", "W:something for my sweet tooth", "W:something honey sweet"}},
	{"sensory_savory", "sensory", "savory, salty, umami", []string{
		"W:something savory", "W:something salty", "W:an umami bomb", "W:savory stuff",
		"W:something cheesy and savory", "W:something hearty and savory", "W:salty stuff", "W:rich savory flavors"}},
	{"sensory_crunchy", "sensory", "crunchy, crispy texture", []string{
		"W:something crunchy", "W:something crispy", "W:crunchy stuff", "W:something with crunch",
		"W:crispy fried stuff", "W:a crunchy texture", "W:something crisp", "W:something i can crunch on"}},
	{"sensory_creamy", "sensory", "creamy, smooth, rich texture", []string{
		"W:something creamy", "W:creamy stuff", "W:something smooth and creamy", "W:something cheesy and creamy",
		"W:velvety creamy food", "W:a creamy sauce", "W:rich and creamy food", "W:something silky"}},
	{"sensory_fresh", "sensory", "fresh, zesty, herby, raw", []string{
		"W:something fresh", "W:something fresh and bright", "W:fresh ingredients", "W:something zesty and fresh",
		"W:something with fresh herbs", "W:a fresh salad", "W:something garden fresh", "W:fresh clean flavors"}},

	{"activity_post_workout", "activity", "after the gym, a run, a workout", []string{
		"C:just finished my workout", "C:after the gym", "C:post leg day", "C:just ran 10k",
		"C:done with crossfit", "C:back from a long bike ride", "C:after yoga class", "C:just lifted"}},
	{"activity_studying", "activity", "studying, exams, homework", []string{
		"C:studying for finals", "C:cramming for an exam", "C:pulling an all-nighter studying",
		"C:writing my essay", "C:library session all day", "C:hitting the books", "C:on a study break",
		"C:revising for exams"}},
	{"activity_movie_night", "activity", "watching a film or series at home", []string{
		"C:movie night tonight", "C:netflix marathon", "C:watching a movie", "C:binge watching a series",
		"C:film night with friends", "C:movie night at home", "C:horror movie night", "C:cozy movie night"}},
	{"activity_hangover", "activity", "hungover, morning after drinking", []string{
		"C:so hungover", "C:hangover from hell", "C:drank too much last night", "C:hungover af",
		"C:head pounding after last night", "C:rough morning after too many drinks", "W:hangover food",
		"C:still recovering from last night"}},
	{"activity_road_trip", "activity", "on a road trip, long drive", []string{
		"C:on a road trip", "C:driving for 6 hours today", "C:road trip tomorrow", "C:long drive ahead",
		"C:in the car all day", "C:stopping at a gas station on a road trip", "C:heading out on a road trip",
		"C:road tripping with friends"}},
}

// incompatible pairs are never combined by the generator: they contradict
// each other or make no sense in one query.
var incompatible = [][2]string{
	{"weather_hot", "temperature_warm"},
	{"weather_snowy", "temperature_cold"},
	{"weather_cold", "temperature_cold"},
	{"emotion_lonely", "occasion_party"},
	{"emotion_lonely", "occasion_date"},
	{"emotion_lonely", "occasion_family"},
	{"meal_breakfast", "activity_movie_night"},
	{"activity_studying", "occasion_party"},
	{"activity_road_trip", "occasion_party"},
	{"activity_road_trip", "occasion_work"},
	{"activity_road_trip", "occasion_date"},
	{"activity_hangover", "occasion_date"},
	{"activity_hangover", "emotion_celebratory"},
	{"goal_light", "sensory_creamy"},
	{"goal_healthy", "meal_dessert"},
	{"goal_light", "meal_dessert"},
	{"occasion_work", "meal_late_night"},
	{"occasion_work", "activity_movie_night"},
	{"meal_dessert", "meal_snack"},
	{"emotion_celebratory", "emotion_sad"},
}

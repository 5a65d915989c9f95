/* templates.c — the built-in template sets, tag vocabulary and background
 * set (clipsearch/classify.h). */
#include "clipsearch/classify.h"

/* CLIP's 80 ImageNet templates, as listed in its zero-shot notebook. */
static const char *const imagenet[] = {
    "a bad photo of a {}.", "a photo of many {}.", "a sculpture of a {}.",
    "a photo of the hard to see {}.", "a low resolution photo of the {}.",
    "a rendering of a {}.", "graffiti of a {}.", "a bad photo of the {}.",
    "a cropped photo of the {}.", "a tattoo of a {}.", "the embroidered {}.",
    "a photo of a hard to see {}.", "a bright photo of a {}.", "a photo of a clean {}.",
    "a photo of a dirty {}.", "a dark photo of the {}.", "a drawing of a {}.",
    "a photo of my {}.", "the plastic {}.", "a photo of the cool {}.",
    "a close-up photo of a {}.", "a black and white photo of the {}.",
    "a painting of the {}.", "a painting of a {}.", "a pixelated photo of the {}.",
    "a sculpture of the {}.", "a bright photo of the {}.", "a cropped photo of a {}.",
    "a plastic {}.", "a photo of the dirty {}.", "a jpeg corrupted photo of a {}.",
    "a blurry photo of the {}.", "a photo of the {}.", "a good photo of the {}.",
    "a rendering of the {}.", "a {} in a video game.", "a photo of one {}.",
    "a doodle of a {}.", "a close-up photo of the {}.", "a photo of a {}.",
    "the origami {}.", "the {} in a video game.", "a sketch of a {}.",
    "a doodle of the {}.", "a origami {}.", "a low resolution photo of a {}.",
    "the toy {}.", "a rendition of the {}.", "a photo of the clean {}.",
    "a photo of a large {}.", "a rendition of a {}.", "a photo of a nice {}.",
    "a photo of a weird {}.", "a blurry photo of a {}.", "a cartoon {}.",
    "art of a {}.", "a sketch of the {}.", "a embroidered {}.",
    "a pixelated photo of a {}.", "itap of the {}.", "a jpeg corrupted photo of the {}.",
    "a good photo of a {}.", "a plushie {}.", "a photo of the nice {}.",
    "a photo of the small {}.", "a photo of the weird {}.", "the cartoon {}.",
    "art of the {}.", "a drawing of the {}.", "a photo of the large {}.",
    "a black and white photo of a {}.", "the plushie {}.", "a dark photo of a {}.",
    "itap of a {}.", "graffiti of the {}.", "a toy {}.", "itap of my {}.",
    "a photo of a cool {}.", "a photo of a small {}.", "a tattoo of the {}.",
    0};

/* A short set for personal photos. */
static const char *const photos[] = {
    "a photo of a {}.", "a photo of the {}.", "a close-up photo of a {}.",
    "a blurry photo of a {}.", "a bright photo of a {}.", "a dark photo of a {}.",
    "a photo of my {}.", "a good photo of a {}.", 0};

static const char *const bare[] = {"{}", 0};

static int count(const char *const *a)
{
    int n = 0;
    while (a[n])
        n++;
    return n;
}

const char *const *clipsearch_builtin_templates(clipsearch_template_set set, int *n)
{
    const char *const *a = set == CLIPSEARCH_TEMPLATES_PHOTOS     ? photos
                           : set == CLIPSEARCH_TEMPLATES_IMAGENET ? imagenet
                           : set == CLIPSEARCH_TEMPLATES_BARE     ? bare
                                                                  : 0;
    if (n)
        *n = a ? count(a) : 0;
    return a;
}

/* Everyday photo concepts. */
static const char *const vocabulary[] = {
    /* places and scenes */
    "beach", "sea", "lake", "river", "waterfall", "mountain", "hill", "forest", "tree",
    "field", "meadow", "desert", "snow", "ice", "glacier", "island", "cave", "canyon",
    "volcano", "sky", "cloud", "sunset", "sunrise", "night sky", "moon", "stars", "rainbow",
    "rain", "fog", "storm", "lightning", "city", "skyline", "street", "road", "highway",
    "bridge", "tunnel", "building", "skyscraper", "house", "apartment", "church", "castle",
    "temple", "mosque", "ruins", "monument", "statue", "tower", "lighthouse", "harbor",
    "port", "airport", "train station", "subway", "park", "playground", "garden",
    "backyard", "farm", "vineyard", "market", "shop", "supermarket", "restaurant", "cafe",
    "bar", "kitchen", "living room", "bedroom", "bathroom", "office", "classroom",
    "library", "museum", "stadium", "concert", "stage", "swimming pool", "gym", "hospital",
    "campsite", "tent", "parking lot", "gas station", "construction site", "factory",
    /* people and events */
    "person", "people", "crowd", "man", "woman", "child", "baby", "toddler", "teenager",
    "elderly person", "family", "couple", "group photo", "selfie", "portrait", "face",
    "smile", "hands", "feet", "wedding", "bride", "birthday party", "birthday cake",
    "graduation", "christmas tree", "christmas", "halloween", "fireworks", "party",
    "dancing", "sports", "football", "soccer", "basketball", "tennis", "running",
    "cycling", "swimming", "skiing", "snowboarding", "surfing", "hiking", "climbing",
    "fishing", "camping", "picnic", "barbecue", "holiday", "travel",
    /* animals */
    "dog", "puppy", "cat", "kitten", "bird", "horse", "cow", "sheep", "goat", "pig",
    "chicken", "duck", "fish", "rabbit", "hamster", "squirrel", "deer", "bear", "lion",
    "tiger", "elephant", "giraffe", "zebra", "monkey", "butterfly", "insect", "spider",
    "snake", "turtle", "frog", "dolphin", "whale", "seagull", "pigeon", "owl", "parrot",
    /* food and drink */
    "food", "meal", "breakfast", "pizza", "burger", "sandwich", "salad", "soup", "pasta",
    "rice", "sushi", "noodles", "steak", "fruit", "vegetables", "bread", "cake", "dessert",
    "ice cream", "chocolate", "cookies", "coffee", "tea", "wine", "beer", "cocktail",
    "drink", "bottle",
    /* things */
    "car", "truck", "bus", "train", "airplane", "boat", "ship", "sailboat", "bicycle",
    "motorcycle", "scooter", "tractor", "flower", "rose", "sunflower", "plant", "cactus",
    "leaves", "autumn leaves", "grass", "rock", "sand", "wave", "book", "newspaper",
    "computer", "laptop", "phone", "television", "camera", "keyboard", "toy", "teddy bear",
    "doll", "lego", "ball", "balloon", "gift", "candle", "clock", "furniture", "chair",
    "table", "sofa", "bed", "window", "door", "stairs", "fence", "wall", "graffiti",
    "painting", "drawing", "sculpture", "musical instrument", "guitar", "piano", "shoes",
    "clothes", "dress", "hat", "glasses", "jewelry", "bag", "umbrella",
    /* kinds of pictures */
    "document", "receipt", "screenshot", "text", "map", "diagram", "chart", "whiteboard",
    "handwriting", "ticket", "business card", "passport", "qr code", "meme", "logo",
    "illustration", "cartoon", "black and white photo", "aerial view", "underwater",
    "close-up", "landscape", "night", "indoor", "outdoor", 0};

/* Things a photo may show that are no tag: they take the probability of
 * photos that fit no vocabulary concept. */
static const char *const background[] = {
    "a photo", "an image", "a picture", "something", "an object", "a thing",
    "nothing in particular", "a blurry picture", "a texture", "a pattern", "a surface",
    "a dark picture", "a bright picture", "a random picture", "an abstract image",
    "a shape", "a colour", 0};

const char *const *clipsearch_builtin_vocabulary(int *n)
{
    if (n)
        *n = count(vocabulary);
    return vocabulary;
}

const char *const *clipsearch_builtin_background(int *n)
{
    if (n)
        *n = count(background);
    return background;
}

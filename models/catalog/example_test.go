package catalog_test

import (
	"fmt"
	"strings"

	"github.com/lookalike/lookalike/models/catalog"
)

func Example() {
	csv := "id,image,title,masterCategory,articleType,baseColour\n" +
		"1,images/1.jpg,Blue tee,Apparel,Tshirts,Blue\n" +
		",images/2.jpg,No id,Apparel,Tshirts,Red\n" +
		"3,https://cdn.example/3.jpg,Remote,Footwear,Shoes,Black\n"
	c, err := catalog.Parse(strings.NewReader(csv), "shop/catalog.csv")
	if err != nil {
		panic(err)
	}
	for _, e := range c.RowErrors {
		fmt.Println(e)
	}
	fmt.Println(len(c.Items), "good item(s); image", c.Items[0].Image)
	fmt.Println(catalog.DefaultSection(c.Header), catalog.DefaultAttributes(c.Header))
	fmt.Println(catalog.ContentName("catalog", "json", []byte("{}")))
	// Output:
	// catalog: line 3 column "id": empty id
	// catalog: line 4 (id "3") column "image": remote image URLs are not supported yet
	// 1 good item(s); image shop/images/1.jpg
	// masterCategory [articleType baseColour]
	// catalog-44136fa355b3.json
}
